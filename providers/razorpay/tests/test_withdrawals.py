"""Withdrawals: RazorpayX contact, fund account and payout as one flow."""

from __future__ import annotations

from typing import Any

import pytest

from payplane import Beneficiary, Money, WithdrawalRequest, WithdrawalStatus
from payplane.exceptions import (
    ConfigurationError,
    InsufficientFundsError,
    IntegrityError,
    MalformedPayloadError,
    ProviderDeclinedError,
    SignatureError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane_razorpay import RazorpayProvider
from payplane_razorpay._contract import payout_entity

BANK = Beneficiary(
    holder_name="Gaurav Kumar",
    account_number="765432123456789",
    bank_code="HDFC0000053",
    email="gaurav.kumar@example.com",
    phone="+919000090000",
)
VPA = Beneficiary(holder_name="Gaurav Kumar", vpa="gaurav.kumar@exampleupi")


def _request(**fields: Any) -> WithdrawalRequest:
    values: dict[str, Any] = {
        "customer_id": "cust-1",
        "amount": Money("1000.00", "INR"),
        "reference": "wd_0001",
        "beneficiary": BANK,
    }
    values.update(fields)
    return WithdrawalRequest(**values)


def _answers(kit: Any, payout: Any) -> list[Any]:
    return [
        kit.answer({"id": "cont_TestCont000001", "entity": "contact"}, 201),
        kit.answer({"id": "fa_TestFund000001", "entity": "fund_account"}, 201),
        payout,
    ]


def test_three_requests(kit: Any, provider: RazorpayProvider) -> None:
    """Contact, fund account, payout: bodies, idempotency header, money flags."""
    record = kit.run(
        provider.create_withdrawal(_request()), _answers(kit, kit.answer(payout_entity()))
    )
    contact, fund_account, payout = record.requests
    assert contact.url == "https://api.razorpay.com/v1/contacts"
    assert kit.body(contact) == {
        "name": "Gaurav Kumar",
        "type": "customer",
        "reference_id": "cust-1",
        "email": "gaurav.kumar@example.com",
        "contact": "+919000090000",
    }
    assert kit.body(fund_account) == {
        "contact_id": "cont_TestCont000001",
        "account_type": "bank_account",
        "bank_account": {
            "name": "Gaurav Kumar",
            "ifsc": "HDFC0000053",
            "account_number": "765432123456789",
        },
    }
    assert kit.body(payout) == {
        "account_number": kit.account_number,
        "amount": 100000,
        "currency": "INR",
        "mode": "IMPS",
        "purpose": "payout",
        "queue_if_low_balance": False,
        "reference_id": "wd_0001",
        "notes": {"payplane_reference": "wd_0001", "payplane_customer_id": "cust-1"},
        "fund_account_id": "fa_TestFund000001",
    }
    assert payout.headers["x-payout-idempotency"] == "wd_0001"
    flags = [(r.moves_money, r.replay_safe, r.reference) for r in record.requests]
    assert flags == [(False, True, "wd_0001"), (False, True, "wd_0001"), (True, True, "wd_0001")]


def test_vpa_payout(kit: Any, provider: RazorpayProvider) -> None:
    """A UPI id becomes a vpa fund account and a UPI payout."""
    record = kit.run(
        provider.create_withdrawal(_request(beneficiary=VPA)),
        _answers(kit, kit.answer(payout_entity(mode="UPI"))),
    )
    _, fund_account, payout = record.requests
    assert kit.body(fund_account)["vpa"] == {"address": "gaurav.kumar@exampleupi"}
    assert kit.body(payout)["mode"] == "UPI"


def test_mode_purpose_narration(kit: Any, provider: RazorpayProvider) -> None:
    """extra chooses mode, purpose and contact type; the comment is the narration."""
    request = _request(
        extra={"mode": "NEFT", "purpose": "refund", "contact_type": "vendor"},
        comment="Acme Withdrawal",
    )
    record = kit.run(
        provider.create_withdrawal(request), _answers(kit, kit.answer(payout_entity()))
    )
    contact, _, payout = (kit.body(r) for r in record.requests)
    assert contact["type"] == "vendor"
    assert (payout["mode"], payout["purpose"], payout["narration"]) == (
        "NEFT",
        "refund",
        "Acme Withdrawal",
    )


def test_both_account_and_vpa_pays_the_bank(kit: Any, provider: RazorpayProvider) -> None:
    """A beneficiary with both goes to the bank unless extra asks for UPI."""
    both = Beneficiary(
        holder_name="Gaurav Kumar",
        account_number="765432123456789",
        bank_code="HDFC0000053",
        vpa="gaurav.kumar@exampleupi",
    )
    bank = kit.first_request(provider.create_withdrawal(_request(beneficiary=both)))
    assert bank.url.endswith("/v1/contacts")
    record = kit.run(
        provider.create_withdrawal(_request(beneficiary=both, extra={"mode": "UPI"})),
        _answers(kit, kit.answer(payout_entity(mode="UPI"))),
    )
    assert kit.body(record.requests[1])["account_type"] == "vpa"


def test_result(kit: Any, provider: RazorpayProvider) -> None:
    """The result carries the status, payout id, amount and the fee (GST included)."""
    record = kit.run(
        provider.create_withdrawal(_request()), _answers(kit, kit.answer(payout_entity()))
    )
    result = record.result
    assert (result.status.status, result.status.raw) == (WithdrawalStatus.PENDING, "processing")
    assert (result.reference, result.provider_reference) == ("wd_0001", "pout_TestPout000001")
    assert result.amount == Money("1000.00", "INR")
    assert result.fee == Money("5.90", "INR")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", WithdrawalStatus.PENDING),
        ("pending", WithdrawalStatus.PENDING),
        ("processed", WithdrawalStatus.SUCCEEDED),
        ("reversed", WithdrawalStatus.REVERSED),
        ("failed", WithdrawalStatus.FAILED),
        ("rejected", WithdrawalStatus.FAILED),
        ("cancelled", WithdrawalStatus.FAILED),
        ("on_hold", WithdrawalStatus.UNKNOWN),
    ],
)
def test_status_of_the_answer(
    kit: Any, provider: RazorpayProvider, status: str, expected: WithdrawalStatus
) -> None:
    """Every RazorpayX payout status maps; an unknown one is UNKNOWN."""
    answer = kit.answer(payout_entity(status=status))
    result = kit.run(provider.create_withdrawal(_request()), _answers(kit, answer)).result
    assert result.status.status is expected
    assert result.status.raw == status


@pytest.mark.parametrize(
    ("status", "fee"),
    [
        ("processing", Money("5.90", "INR")),
        ("processed", Money("5.90", "INR")),
        ("queued", None),
        ("reversed", None),
    ],
)
def test_fee_once_charged(
    kit: Any, provider: RazorpayProvider, status: str, fee: Money | None
) -> None:
    """The fee is reported once charged (processing, processed), not before, nor reversed."""
    answer = kit.answer(payout_entity(status=status))
    assert kit.run(provider.create_withdrawal(_request()), _answers(kit, answer)).result.fee == fee


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Money("0.99", "INR")}, "amount"),
        ({"amount": Money("10.001", "INR")}, "amount"),
        ({"reference": "abc"}, "reference"),
        ({"reference": "r" * 37}, "reference"),
        ({"reference": "wd/0001"}, "reference"),
        ({"customer_id": "c" * 41}, "customer_id"),
        ({"account_number": "765432123456789", "beneficiary": None}, "beneficiary"),
        (
            {"beneficiary": Beneficiary(account_number="765432123456789", bank_code="HDFC0000053")},
            "beneficiary.holder_name",
        ),
        ({"beneficiary": Beneficiary(holder_name="Al", vpa="a@b")}, "beneficiary.holder_name"),
        (
            {"beneficiary": Beneficiary(holder_name="Gaurav Kumar-", vpa="a@b")},
            "beneficiary.holder_name",
        ),
        (
            {"beneficiary": Beneficiary(holder_name="Gaurav", account_number="765432123456789")},
            "beneficiary.bank_code",
        ),
        (
            {
                "beneficiary": Beneficiary(
                    holder_name="Gaurav", account_number="765432123456789", bank_code="hdfc0000053"
                )
            },
            "beneficiary.bank_code",
        ),
        (
            {
                "beneficiary": Beneficiary(
                    holder_name="Gaurav", account_number="765432123456789", bank_code="HDFC1000053"
                )
            },
            "beneficiary.bank_code",
        ),
        (
            {
                "beneficiary": Beneficiary(
                    holder_name="Gaurav", account_number="1234", bank_code="HDFC0000053"
                )
            },
            "beneficiary.account_number",
        ),
        ({"beneficiary": Beneficiary(holder_name="Gaurav", vpa="no-at-sign")}, "beneficiary.vpa"),
        ({"beneficiary": Beneficiary(holder_name="Gaurav", vpa="a@b@c")}, "beneficiary.vpa"),
        ({"beneficiary": Beneficiary(holder_name="Gaurav", vpa="a b@upi")}, "beneficiary.vpa"),
        ({"comment": "Acme, Inc."}, "comment"),
        ({"comment": "x" * 31}, "comment"),
        ({"extra": {"mode": "SWIFT"}}, "extra.mode"),
        ({"extra": {"mode": "UPI"}}, "beneficiary.vpa"),
        ({"beneficiary": VPA, "extra": {"mode": "IMPS"}}, "extra.mode"),
        ({"extra": {"purpose": ""}}, "extra.purpose"),
        ({"extra": {"speed": "fast"}}, "extra"),
    ],
)
def test_refused_before_sending(
    kit: Any, provider: RazorpayProvider, fields: dict[str, Any], field: str
) -> None:
    """Each broken rule is a ValidationError naming the field and the limit, nothing sent."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.create_withdrawal(_request(**fields)))
    assert caught.value.field == field
    assert caught.value.limit


def test_other_currency_refused(kit: Any, provider: RazorpayProvider) -> None:
    """RazorpayX pays out INR only (the client refuses it earlier too)."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.create_withdrawal(_request(amount=Money("10.00", "USD"))))
    assert caught.value.field == "amount.currency"


def test_test_payout_with_live_key(kit: Any) -> None:
    """test=True with a live key is refused: the key chooses the mode."""
    provider = kit.provider(key_id="rzp_live_Kit0000000001")
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.create_withdrawal(_request(test=True)))
    assert caught.value.field == "test"


def test_without_account_number(kit: Any) -> None:
    """Without payout_account_number a payout is a ConfigurationError naming it."""
    provider = kit.provider(payout_account_number=None)
    with pytest.raises(ConfigurationError) as caught:
        kit.first_request(provider.create_withdrawal(_request()))
    assert caught.value.field == "payout_account_number"


def test_insufficient_funds_error(kit: Any, provider: RazorpayProvider) -> None:
    """An API error with reason insufficient_funds is InsufficientFundsError."""
    refusal = kit.error_answer(
        "Your account does not have enough balance", reason="insufficient_funds"
    )
    with pytest.raises(InsufficientFundsError):
        kit.run(provider.create_withdrawal(_request()), _answers(kit, refusal))


def test_insufficient_funds_failed_payout(kit: Any, provider: RazorpayProvider) -> None:
    """A payout created failed for insufficient funds is InsufficientFundsError too."""
    failed = payout_entity(
        status="failed",
        status_details={
            "reason": "insufficient_funds",
            "description": "Not enough balance",
            "source": "business",
        },
    )
    with pytest.raises(InsufficientFundsError, match="new reference"):
        kit.run(provider.create_withdrawal(_request()), _answers(kit, kit.answer(failed)))


def test_queued_for_low_balance_is_pending(kit: Any, provider: RazorpayProvider) -> None:
    """With queue_if_low_balance, a queued payout (reason low_balance) is PENDING."""
    queued = payout_entity(status="queued", status_details={"reason": "low_balance"})
    result = kit.run(
        provider.create_withdrawal(_request()), _answers(kit, kit.answer(queued))
    ).result
    assert result.status.status is WithdrawalStatus.PENDING


def test_ip_not_allowlisted(kit: Any, provider: RazorpayProvider) -> None:
    """RazorpayX's IP refusal is declined with a hint about the allowlist."""
    refusal = kit.error_answer(
        "Transactions from this IP are not allowed. Contact support for help."
    )
    with pytest.raises(ProviderDeclinedError, match="allowlisted"):
        kit.run(provider.create_withdrawal(_request()), [refusal])


def test_reused_key_other_body(kit: Any, provider: RazorpayProvider) -> None:
    """Another body under the same idempotency key is declined."""
    refusal = kit.error_answer("Different request body sent for the same Idempotency Header.")
    with pytest.raises(ProviderDeclinedError, match="Idempotency"):
        kit.run(provider.create_withdrawal(_request()), _answers(kit, refusal))


@pytest.mark.parametrize("status_code", [401, 400])
def test_bad_keys(kit: Any, provider: RazorpayProvider, status_code: int) -> None:
    """ "Authentication failed" (401 or 400) is a SignatureError pointing at the keys."""
    refusal = kit.error_answer("Authentication failed", status_code=status_code)
    with pytest.raises(SignatureError, match="key_secret"):
        kit.run(provider.create_withdrawal(_request()), [refusal])


def test_server_error_before_payout_is_retry_safe(kit: Any, provider: RazorpayProvider) -> None:
    """A 500 on the contact step moved no money: a retry-safe TransportError."""
    with pytest.raises(TransportError) as caught:
        kit.run(provider.create_withdrawal(_request()), [kit.error_answer("oops", status_code=500)])
    assert caught.value.retry_safe
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_server_error_on_payout_is_unclassifiable(kit: Any, provider: RazorpayProvider) -> None:
    """A 500 on the payout step cannot be classified (the client makes it an unknown outcome)."""
    with pytest.raises(MalformedPayloadError):
        kit.run(
            provider.create_withdrawal(_request()),
            _answers(kit, kit.error_answer("x", status_code=500)),
        )


def test_payout_answer_contradicting_request(kit: Any, provider: RazorpayProvider) -> None:
    """A payout of another amount or reference contradicts the request."""
    for entity in (payout_entity(amount=1), payout_entity(reference_id="other")):
        with pytest.raises(IntegrityError):
            kit.run(provider.create_withdrawal(_request()), _answers(kit, kit.answer(entity)))


def test_payout_answer_without_reference(kit: Any, provider: RazorpayProvider) -> None:
    """An answer without reference_id says nothing against the request."""
    answer = kit.answer(payout_entity(reference_id=None))
    assert (
        kit.run(provider.create_withdrawal(_request()), _answers(kit, answer)).result.reference
        == "wd_0001"
    )
