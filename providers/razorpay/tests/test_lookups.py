"""Lookups: Payment Links, payments, payouts and refunds by id or reference."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from payplane import (
    DepositStatus,
    LookupRequest,
    Money,
    PaymentKind,
    RefundStatus,
    WithdrawalStatus,
)
from payplane.exceptions import (
    ConfigurationError,
    IntegrityError,
    NotFoundError,
    ProviderDeclinedError,
    TransportError,
    ValidationError,
)
from payplane_razorpay import RazorpayProvider
from payplane_razorpay._contract import link_entity, payment_entity, payout_entity, refund_entity

DEPOSIT, WITHDRAWAL, REFUND = PaymentKind.DEPOSIT, PaymentKind.WITHDRAWAL, PaymentKind.REFUND


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("created", DepositStatus.PENDING),
        ("partially_paid", DepositStatus.PENDING),
        ("paid", DepositStatus.SUCCEEDED),
        ("cancelled", DepositStatus.FAILED),
        ("expired", DepositStatus.FAILED),
        ("issued", DepositStatus.UNKNOWN),
    ],
)
def test_link_by_id(
    kit: Any, provider: RazorpayProvider, status: str, expected: DepositStatus
) -> None:
    """A plink_ id is fetched; link statuses map; the payments stay in raw."""
    payments = [{"payment_id": "pay_TestPay0000001", "amount": 50000, "status": "captured"}]
    entity = link_entity(status=status, payments=payments, updated_at=1735689700)
    request = LookupRequest(kind=DEPOSIT, provider_reference="plink_TestLink000001")
    record = kit.run(provider.look_up(request), [kit.answer(entity)])
    assert (
        record.requests[0].url == "https://api.razorpay.com/v1/payment_links/plink_TestLink000001"
    )
    assert (record.requests[0].method, record.requests[0].replay_safe) == ("GET", True)
    result = record.result
    assert (result.status.status, result.status.raw) == (expected, status)
    assert (result.reference, result.provider_reference) == ("dep_0001", "plink_TestLink000001")
    assert result.amount == Money("500.00", "INR")
    assert result.occurred_at == datetime.fromtimestamp(1735689700, UTC)
    assert result.raw["payments"][0]["payment_id"] == "pay_TestPay0000001"


def test_link_by_reference(kit: Any, provider: RazorpayProvider) -> None:
    """The platform's reference lists links by reference_id."""
    request = LookupRequest(kind=DEPOSIT, reference="dep_0001")
    record = kit.run(provider.look_up(request), [kit.answer({"payment_links": [link_entity()]})])
    assert record.requests[0].url.endswith("/v1/payment_links?reference_id=dep_0001")
    assert record.result.provider_reference == "plink_TestLink000001"


def test_several_links_for_a_reference(kit: Any, provider: RazorpayProvider) -> None:
    """Two links with one reference_id contradict Razorpay's uniqueness: IntegrityError."""
    listing = kit.answer({"payment_links": [link_entity(), link_entity(id="plink_Other00000001")]})
    with pytest.raises(IntegrityError):
        kit.run(provider.look_up(LookupRequest(kind=DEPOSIT, reference="dep_0001")), [listing])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("created", DepositStatus.PENDING),
        ("authorized", DepositStatus.PENDING),
        ("captured", DepositStatus.SUCCEEDED),
        ("refunded", DepositStatus.SUCCEEDED),
        ("failed", DepositStatus.PENDING),
        ("disputed", DepositStatus.UNKNOWN),
    ],
)
def test_payment_by_id(
    kit: Any, provider: RazorpayProvider, status: str, expected: DepositStatus
) -> None:
    """A pay_ id is fetched; payment statuses map (failed is not final at Razorpay)."""
    request = LookupRequest(kind=DEPOSIT, provider_reference="pay_TestPay0000001")
    record = kit.run(provider.look_up(request), [kit.answer(payment_entity(status=status))])
    assert record.requests[0].url.endswith("/v1/payments/pay_TestPay0000001")
    assert record.result.status.status is expected
    assert record.result.fee == Money("11.80", "INR")
    assert record.result.reference == "dep_0001"


def test_international_payment_fee_not_reported(kit: Any, provider: RazorpayProvider) -> None:
    """The fee of a non-INR payment is not reported (its currency is not documented)."""
    request = LookupRequest(kind=DEPOSIT, provider_reference="pay_TestPay0000001")
    entity = payment_entity(currency="USD", amount=1000)
    assert kit.run(provider.look_up(request), [kit.answer(entity)]).result.fee is None


def test_payout_by_id(kit: Any, provider: RazorpayProvider) -> None:
    """A pout_ id is fetched; the payout status maps; reversed is REVERSED."""
    request = LookupRequest(kind=WITHDRAWAL, provider_reference="pout_TestPout000001")
    record = kit.run(provider.look_up(request), [kit.answer(payout_entity(status="reversed"))])
    assert record.requests[0].url.endswith("/v1/payouts/pout_TestPout000001")
    assert record.result.status.status is WithdrawalStatus.REVERSED
    assert record.result.reference == "wd_0001"


def test_payout_by_reference(kit: Any, provider: RazorpayProvider) -> None:
    """A payout's reference lists payouts of the merchant account by reference_id."""
    request = LookupRequest(kind=WITHDRAWAL, reference="wd_0001")
    listing = kit.answer(
        {"entity": "collection", "count": 1, "items": [payout_entity(status="processed")]}
    )
    record = kit.run(provider.look_up(request), [listing])
    assert record.requests[0].url == (
        f"https://api.razorpay.com/v1/payouts?account_number={kit.account_number}&reference_id=wd_0001"
    )
    assert record.result.status.status is WithdrawalStatus.SUCCEEDED
    assert record.result.fee == Money("5.90", "INR")


def test_payout_by_reference_empty(kit: Any, provider: RazorpayProvider) -> None:
    """An empty listing is a NotFoundError naming the reference."""
    listing = kit.answer({"entity": "collection", "count": 0, "items": []})
    with pytest.raises(NotFoundError) as caught:
        kit.run(provider.look_up(LookupRequest(kind=WITHDRAWAL, reference="wd_0001")), [listing])
    assert (caught.value.kind, caught.value.reference) == ("withdrawal", "wd_0001")


def test_payout_by_reference_needs_account(kit: Any) -> None:
    """Without payout_account_number a lookup by reference is a ConfigurationError."""
    provider = kit.provider(payout_account_number=None)
    with pytest.raises(ConfigurationError) as caught:
        kit.first_request(provider.look_up(LookupRequest(kind=WITHDRAWAL, reference="wd_0001")))
    assert caught.value.field == "payout_account_number"


def test_refund_by_id(kit: Any, provider: RazorpayProvider) -> None:
    """A rfnd_ id is fetched; the refund status maps."""
    request = LookupRequest(kind=REFUND, provider_reference="rfnd_TestRfnd000001")
    record = kit.run(provider.look_up(request), [kit.answer(refund_entity(status="pending"))])
    assert record.requests[0].url.endswith("/v1/refunds/rfnd_TestRfnd000001")
    assert record.result.status.status is RefundStatus.PENDING
    assert record.result.reference == "refund-0001-abcdef"


def test_refund_by_reference_only(kit: Any, provider: RazorpayProvider) -> None:
    """Refunds are looked up by id only: a reference alone is refused, naming the field."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.look_up(LookupRequest(kind=REFUND, reference="refund-0001")))
    assert caught.value.field == "provider_reference"


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (DEPOSIT, "pout_1"),
        (WITHDRAWAL, "pay_1"),
        (REFUND, "pay_1"),
        (DEPOSIT, "plink_a/b"),
        (DEPOSIT, "plink_?x=1"),
    ],
)
def test_id_of_the_wrong_kind(
    kit: Any, provider: RazorpayProvider, kind: PaymentKind, given: str
) -> None:
    """An id of another kind (or with characters that would leave the path) is refused."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.look_up(LookupRequest(kind=kind, provider_reference=given)))
    assert caught.value.field == "provider_reference"


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (DEPOSIT, "plink_Unknown0000001"),
        (DEPOSIT, "pay_Unknown00000001"),
        (WITHDRAWAL, "pout_Unknown0000001"),
        (REFUND, "rfnd_Unknown0000001"),
    ],
)
def test_unknown_id(kit: Any, provider: RazorpayProvider, kind: PaymentKind, given: str) -> None:
    """Razorpay's 400 "The id provided does not exist" is a NotFoundError with kind and id."""
    refusal = kit.error_answer("The id provided does not exist")
    with pytest.raises(NotFoundError) as caught:
        kit.run(provider.look_up(LookupRequest(kind=kind, provider_reference=given)), [refusal])
    assert (caught.value.kind, caught.value.reference) == (kind.value, given)


def test_http_404_is_not_found(kit: Any, provider: RazorpayProvider) -> None:
    """A 404 is a NotFoundError as well."""
    request = LookupRequest(kind=REFUND, provider_reference="rfnd_Unknown0000001")
    with pytest.raises(NotFoundError):
        kit.run(provider.look_up(request), [kit.error_answer("Not Found", status_code=404)])


def test_unknown_url_is_declined(kit: Any, provider: RazorpayProvider) -> None:
    """ "The requested URL was not found" (a feature not enabled) is declined, not not-found."""
    refusal = kit.error_answer("The requested URL was not found on the server.")
    request = LookupRequest(kind=WITHDRAWAL, provider_reference="pout_TestPout000001")
    with pytest.raises(ProviderDeclinedError) as caught:
        kit.run(provider.look_up(request), [refusal])
    assert not isinstance(caught.value, NotFoundError)


def test_reference_contradicting_the_id(kit: Any, provider: RazorpayProvider) -> None:
    """Both given: a payment found by id with another reference is an IntegrityError."""
    request = LookupRequest(
        kind=WITHDRAWAL, reference="wd_9999", provider_reference="pout_TestPout000001"
    )
    with pytest.raises(IntegrityError):
        kit.run(provider.look_up(request), [kit.answer(payout_entity())])


def test_server_error_on_a_read(kit: Any, provider: RazorpayProvider) -> None:
    """A 500 on a read is a retry-safe TransportError."""
    request = LookupRequest(kind=REFUND, provider_reference="rfnd_TestRfnd000001")
    with pytest.raises(TransportError) as caught:
        kit.run(provider.look_up(request), [kit.error_answer("oops", status_code=500)])
    assert caught.value.retry_safe
