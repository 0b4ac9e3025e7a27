"""Refunds: checked against the captured payment first, then sent with an idempotency key."""

from __future__ import annotations

from typing import Any

import pytest

from payplane import Money, RefundRequest, RefundStatus
from payplane.exceptions import (
    IntegrityError,
    MalformedPayloadError,
    NotFoundError,
    ProviderDeclinedError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane_razorpay import RazorpayProvider
from payplane_razorpay._contract import link_entity, payment_entity, refund_entity

REFERENCE = "refund-0001-abcdef"


def _request(**fields: Any) -> RefundRequest:
    values: dict[str, Any] = {
        "deposit_provider_reference": "pay_TestPay0000001",
        "amount": Money("250.00", "INR"),
        "reference": REFERENCE,
    }
    values.update(fields)
    return RefundRequest(**values)


def test_partial_refund(kit: Any, provider: RazorpayProvider) -> None:
    """Read the payment, then POST the refund with X-Refund-Idempotency."""
    record = kit.run(
        provider.create_refund(_request(reason="damaged")),
        [kit.answer(payment_entity()), kit.answer(refund_entity())],
    )
    read, refund = record.requests
    assert (read.method, read.url) == (
        "GET",
        "https://api.razorpay.com/v1/payments/pay_TestPay0000001",
    )
    assert (read.moves_money, read.replay_safe) == (False, True)
    assert refund.url == "https://api.razorpay.com/v1/payments/pay_TestPay0000001/refund"
    assert kit.body(refund) == {
        "amount": 25000,
        "notes": {"payplane_reference": REFERENCE, "reason": "damaged"},
    }
    assert refund.headers["x-refund-idempotency"] == REFERENCE
    assert (refund.moves_money, refund.replay_safe, refund.reference) == (True, True, REFERENCE)
    result = record.result
    assert (result.status.status, result.status.raw) == (RefundStatus.SUCCEEDED, "processed")
    assert result.amount == Money("250.00", "INR")
    assert (result.provider_reference, result.deposit_provider_reference) == (
        "rfnd_TestRfnd000001",
        "pay_TestPay0000001",
    )


def test_full_refund_sends_what_is_left(kit: Any, provider: RazorpayProvider) -> None:
    """amount=None refunds what is left: amount minus amount_refunded."""
    payment = payment_entity(amount_refunded=20000, refund_status="partial")
    record = kit.run(
        provider.create_refund(_request(amount=None, extra={"speed": "optimum"})),
        [kit.answer(payment), kit.answer(refund_entity(amount=30000, status="pending"))],
    )
    assert kit.body(record.requests[1])["amount"] == 30000
    assert kit.body(record.requests[1])["speed"] == "optimum"
    assert record.result.status.status is RefundStatus.PENDING


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", RefundStatus.PENDING),
        ("processed", RefundStatus.SUCCEEDED),
        ("failed", RefundStatus.FAILED),
        ("odd", RefundStatus.UNKNOWN),
    ],
)
def test_refund_statuses(
    kit: Any, provider: RazorpayProvider, status: str, expected: RefundStatus
) -> None:
    """pending, processed, failed map; anything else is UNKNOWN."""
    answers = [kit.answer(payment_entity()), kit.answer(refund_entity(status=status))]
    assert kit.run(provider.create_refund(_request()), answers).result.status.status is expected


def test_refund_by_payment_link(kit: Any, provider: RazorpayProvider) -> None:
    """A plink_ reference is fetched to find the payment that paid it."""
    link = link_entity(
        status="paid",
        payments=[{"payment_id": "pay_TestPay0000001", "amount": 50000, "status": "captured"}],
    )
    record = kit.run(
        provider.create_refund(_request(deposit_provider_reference="plink_TestLink000001")),
        [kit.answer(link), kit.answer(payment_entity()), kit.answer(refund_entity())],
    )
    assert record.requests[0].url.endswith("/v1/payment_links/plink_TestLink000001")
    assert record.requests[2].url.endswith("/v1/payments/pay_TestPay0000001/refund")


def test_refund_by_deposit_reference(kit: Any, provider: RazorpayProvider) -> None:
    """Only the deposit's reference: the link is listed by reference_id."""
    link = link_entity(
        status="paid", payments=[{"payment_id": "pay_TestPay0000001", "amount": 50000}]
    )
    record = kit.run(
        provider.create_refund(
            _request(deposit_provider_reference=None, deposit_reference="dep_0001")
        ),
        [
            kit.answer({"payment_links": [link]}),
            kit.answer(payment_entity()),
            kit.answer(refund_entity()),
        ],
    )
    assert record.requests[0].url.endswith("/v1/payment_links?reference_id=dep_0001")


@pytest.mark.parametrize(
    "payments",
    [None, [], [{"payment_id": "pay_A", "amount": 1}, {"payment_id": "pay_B", "amount": 1}]],
)
def test_link_without_single_payment(kit: Any, provider: RazorpayProvider, payments: Any) -> None:
    """A link paid by no or several payments cannot name the payment: the field is named."""
    with pytest.raises(ValidationError) as caught:
        kit.run(
            provider.create_refund(_request(deposit_provider_reference="plink_TestLink000001")),
            [kit.answer(link_entity(payments=payments))],
        )
    assert caught.value.field == "deposit_provider_reference"


def test_over_what_is_left(kit: Any, provider: RazorpayProvider) -> None:
    """More than captured minus refunded is refused before the refund is sent."""
    payment = payment_entity(amount_refunded=40000)
    refunds = kit.answer({"entity": "collection", "count": 0, "items": []})
    record_requests: list[Any] = []
    with pytest.raises(ValidationError) as caught:
        record_requests.append(
            kit.run(provider.create_refund(_request()), [kit.answer(payment), refunds])
        )
    assert caught.value.field == "amount"
    assert caught.value.limit == "<= 100.00 INR"


def test_retry_finds_the_refund_made(kit: Any, provider: RazorpayProvider) -> None:
    """A retry after the refund was made finds it by its reference instead of refusing."""
    payment = payment_entity(status="refunded", amount_refunded=50000, refund_status="full")
    refunds = kit.answer(
        {"entity": "collection", "count": 1, "items": [refund_entity(amount=50000)]}
    )
    record = kit.run(provider.create_refund(_request(amount=None)), [kit.answer(payment), refunds])
    assert record.requests[1].url.endswith("/v1/payments/pay_TestPay0000001/refunds?count=100")
    assert record.result.provider_reference == "rfnd_TestRfnd000001"
    assert all(not r.moves_money for r in record.requests)


def test_other_currency(kit: Any, provider: RazorpayProvider) -> None:
    """A refund in another currency than the payment's is refused, naming amount."""
    with pytest.raises(ValidationError) as caught:
        kit.run(
            provider.create_refund(_request(amount=Money("5.00", "USD"))),
            [kit.answer(payment_entity())],
        )
    assert (caught.value.field, caught.value.limit) == ("amount", "currency INR")


@pytest.mark.parametrize("status", ["authorized", "failed", "created"])
def test_not_captured(kit: Any, provider: RazorpayProvider, status: str) -> None:
    """Only captured payments are refunded."""
    with pytest.raises(ValidationError) as caught:
        kit.run(provider.create_refund(_request()), [kit.answer(payment_entity(status=status))])
    assert caught.value.field == "deposit_provider_reference"


def test_deposit_amount_mismatch(kit: Any, provider: RazorpayProvider) -> None:
    """A deposit_amount that is not the payment's amount contradicts Razorpay."""
    request = _request(deposit_amount=Money("600.00", "INR"))
    with pytest.raises(IntegrityError):
        kit.run(provider.create_refund(request), [kit.answer(payment_entity())])


def test_unknown_payment(kit: Any, provider: RazorpayProvider) -> None:
    """Razorpay's "does not exist" is a NotFoundError naming the payment."""
    with pytest.raises(NotFoundError) as caught:
        kit.run(
            provider.create_refund(_request()), [kit.error_answer("The id provided does not exist")]
        )
    assert (caught.value.kind, caught.value.reference) == ("deposit", "pay_TestPay0000001")


def test_conflict_is_unknown_outcome(kit: Any, provider: RazorpayProvider) -> None:
    """HTTP 409 (the same refund still processing) is an unknown outcome with the reference."""
    answers = [kit.answer(payment_entity()), kit.error_answer("in progress", status_code=409)]
    with pytest.raises(UnknownOutcomeError) as caught:
        kit.run(provider.create_refund(_request()), answers)
    assert caught.value.reference == REFERENCE


def test_declined_refund(kit: Any, provider: RazorpayProvider) -> None:
    """Razorpay's refusal of the refund is declined with its field."""
    refusal = kit.error_answer(
        "The refund amount provided is greater than amount captured.", field="amount"
    )
    with pytest.raises(ProviderDeclinedError) as caught:
        kit.run(provider.create_refund(_request()), [kit.answer(payment_entity()), refusal])
    assert "amount" in caught.value.field_errors


def test_refund_answer_contradicting(kit: Any, provider: RazorpayProvider) -> None:
    """A refund answer of another amount contradicts the request."""
    answers = [kit.answer(payment_entity()), kit.answer(refund_entity(amount=1))]
    with pytest.raises(IntegrityError):
        kit.run(provider.create_refund(_request()), answers)


def test_unclassifiable_refund_answer(kit: Any, provider: RazorpayProvider) -> None:
    """A 502 on the refund step is unclassifiable (the client makes it an unknown outcome)."""
    answers = [kit.answer(payment_entity()), kit.error_answer("bad gateway", status_code=502)]
    with pytest.raises(MalformedPayloadError):
        kit.run(provider.create_refund(_request()), answers)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reference": "short"}, "reference"),
        ({"reference": "has space inside"}, "reference"),
        ({"reference": "r" * 256}, "reference"),
        ({"amount": Money("0.50", "INR")}, "amount"),
        ({"amount": Money("1.005", "INR")}, "amount"),
        ({"amount": Money("1.005", "KWD")}, "amount"),
        ({"extra": {"speed": "instant"}}, "extra.speed"),
        ({"extra": {"receipt": "x"}}, "extra"),
        ({"reason": "r" * 256}, "reason"),
        ({"deposit_provider_reference": "order_123"}, "deposit_provider_reference"),
        ({"deposit_provider_reference": "pay_../../x"}, "deposit_provider_reference"),
    ],
)
def test_refused_before_sending(
    kit: Any, provider: RazorpayProvider, fields: dict[str, Any], field: str
) -> None:
    """Each broken rule is a ValidationError naming the field, before any request."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.create_refund(_request(**fields)))
    assert caught.value.field == field
