"""The neutral records PSPs of every common shape need: refunds, lookups, beneficiaries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payplane import (
    Beneficiary,
    DepositRequest,
    DepositStart,
    DepositStatus,
    LookupRequest,
    MappedStatus,
    Money,
    OtherEvent,
    PaymentKind,
    PostbackEvent,
    PostbackKind,
    RefundRequest,
    RefundStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane._inbox._codec import event_from_dict, event_to_dict
from payplane.exceptions import ValidationError


def test_reversed_is_final_and_not_a_success() -> None:
    """A payout returned by the bank after it was paid is over, and not paid."""
    assert WithdrawalStatus.REVERSED.is_final
    assert not WithdrawalStatus.REVERSED.is_success


def test_refund_statuses() -> None:
    """Only SUCCEEDED is a success; UNKNOWN is neither final nor success."""
    assert [s for s in RefundStatus if s.is_success] == [RefundStatus.SUCCEEDED]
    assert {s for s in RefundStatus if s.is_final} == {RefundStatus.SUCCEEDED, RefundStatus.FAILED}
    assert not RefundStatus.UNKNOWN.is_final


def test_a_withdrawal_needs_an_account_or_a_beneficiary() -> None:
    """Neither an account number nor a beneficiary: refused, naming ``beneficiary``."""
    with pytest.raises(ValidationError) as info:
        WithdrawalRequest(customer_id="u1", amount=Money("10", "INR"))
    assert info.value.field == "beneficiary"


def test_a_withdrawal_to_a_beneficiary() -> None:
    """A beneficiary alone is enough; the account number stays unset."""
    beneficiary = Beneficiary(holder_name="Gaurav Kumar", vpa="gaurav.kumar@exampleupi")
    request = WithdrawalRequest(
        customer_id="u1", amount=Money("10", "INR"), beneficiary=beneficiary
    )
    assert request.account_number is None
    assert request.beneficiary == beneficiary


def test_a_beneficiary_needs_an_account_number_or_a_vpa() -> None:
    """A name and a bank code do not say where to pay."""
    with pytest.raises(ValidationError) as info:
        Beneficiary(holder_name="Gaurav Kumar", bank_code="HDFC0000053")
    assert info.value.field == "beneficiary"


@pytest.mark.parametrize("field", ["holder_name", "account_number", "bank_code", "vpa", "email"])
def test_beneficiary_fields_are_not_blank(field: str) -> None:
    """A blank field is a mistake, named."""
    values = {"account_number": "765432123456789", field: "  "}
    with pytest.raises(ValidationError) as info:
        Beneficiary(**values)
    assert info.value.field == field


def test_a_refund_names_its_deposit() -> None:
    """A refund of nothing in particular is refused."""
    with pytest.raises(ValidationError) as info:
        RefundRequest(amount=Money("1", "INR"))
    assert info.value.field == "deposit_reference"


def test_a_refund_gets_a_reference() -> None:
    """The idempotency key is generated when not given, and differs each time."""
    first = RefundRequest(deposit_provider_reference="pay_1")
    second = RefundRequest(deposit_provider_reference="pay_1")
    assert first.reference != second.reference
    assert first.amount is None


def test_a_refund_above_the_deposit_is_refused() -> None:
    """With the deposit's amount known, a larger refund never leaves."""
    with pytest.raises(ValidationError) as info:
        RefundRequest(
            deposit_reference="dep-1",
            amount=Money("500.01", "INR"),
            deposit_amount=Money("500", "INR"),
        )
    assert info.value.field == "amount"
    assert info.value.limit == "<= 500 INR"


def test_a_refund_in_another_currency_is_refused() -> None:
    """A refund is in the deposit's currency."""
    with pytest.raises(ValidationError) as info:
        RefundRequest(
            deposit_reference="dep-1", amount=Money("5", "USD"), deposit_amount=Money("500", "INR")
        )
    assert info.value.field == "amount"
    assert info.value.limit == "currency INR"


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_a_refund_amount_is_positive(amount: str) -> None:
    """Zero or negative refunds are refused."""
    with pytest.raises(ValidationError) as info:
        RefundRequest(deposit_reference="dep-1", amount=Money(amount, "INR"))
    assert info.value.field == "amount"


def test_a_lookup_needs_a_reference_or_an_id() -> None:
    """A lookup of nothing is refused."""
    with pytest.raises(ValidationError) as info:
        LookupRequest(kind=PaymentKind.WITHDRAWAL)
    assert info.value.field == "reference"
    assert LookupRequest(kind=PaymentKind.REFUND, provider_reference="rfnd_1").reference is None


def test_deposit_start_carries_references_and_the_answer() -> None:
    """The platform's reference, the provider's id and the raw answer travel together."""
    start = DepositStart(
        provider="p",
        customer_id="u1",
        currency="INR",
        hosted_page_url="https://rzp.io/i/x",
        reference="dep-1",
        provider_reference="plink_1",
        expires_at=datetime(2027, 1, 1, tzinfo=UTC),
        raw={"id": "plink_1"},
    )
    assert (start.reference, start.provider_reference) == ("dep-1", "plink_1")
    assert start.raw["id"] == "plink_1"


def test_deposit_request_contact_fields() -> None:
    """Email, phone and name of the payer; a naive expiry is refused."""
    request = DepositRequest(
        customer_id="u1", currency="INR", customer_email="a@b.in", customer_phone="+919000090000"
    )
    assert request.customer_email == "a@b.in"
    with pytest.raises(ValidationError) as info:
        DepositRequest(customer_id="u1", currency="INR", expires_at=datetime(2027, 1, 1))  # noqa: DTZ001
    assert info.value.field == "expires_at"


def test_a_postback_event_is_about_a_payment() -> None:
    """OTHER is carried by OtherEvent, never by a PostbackEvent."""
    with pytest.raises(ValidationError) as info:
        PostbackEvent(
            provider="p",
            kind=PostbackKind.OTHER,
            event_key="k",
            status=MappedStatus(DepositStatus.SUCCEEDED, "x"),
            amount=Money("1", "INR"),
        )
    assert info.value.field == "kind"


def test_a_refund_event_round_trips() -> None:
    """A refund event, with its fee and ids, is stored and rebuilt exactly."""
    event = PostbackEvent(
        provider="p",
        kind=PostbackKind.REFUND,
        event_key="evt_1",
        status=MappedStatus(RefundStatus.SUCCEEDED, "processed"),
        amount=Money("250.00", "INR"),
        reference="r-1",
        provider_reference="rfnd_1",
        fee=Money("0.00", "INR"),
        event_type="refund.processed",
    )
    assert event_from_dict(event_to_dict(event)) == event


def test_an_other_event_round_trips() -> None:
    """A non-payment event keeps its type, time and raw body."""
    event = OtherEvent(
        provider="p",
        event_key="evt_2",
        event_type="payment.dispute.created",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        raw={"event": "payment.dispute.created"},
    )
    rebuilt = event_from_dict(event_to_dict(event))
    assert rebuilt == event
    assert rebuilt.kind is PostbackKind.OTHER
    assert rebuilt.raw == event.raw
