"""Webhooks: the signature over the raw body, then neutral events (or OtherEvent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import payplane
from payplane import (
    DepositStatus,
    Money,
    OtherEvent,
    PostbackEvent,
    PostbackKind,
    RefundStatus,
    WithdrawalStatus,
)
from payplane.exceptions import MalformedPayloadError, PayloadTooLargeError, SignatureError
from payplane_razorpay import RazorpayProvider, webhook_signature
from payplane_razorpay._contract import (
    link_entity,
    payment_entity,
    payout_entity,
    refund_entity,
)


def _event(kit: Any, provider: RazorpayProvider, event: str, payload: dict[str, Any]) -> Any:
    body, headers = kit.webhook(event, payload)
    return provider.verify_postback(body, headers)


def test_payment_captured(kit: Any, provider: RazorpayProvider) -> None:
    """payment.captured: a SUCCEEDED deposit with amount, fee, reference, customer, payment."""
    event = _event(kit, provider, "payment.captured", {"payment": payment_entity()})
    assert isinstance(event, PostbackEvent)
    assert (event.kind, event.event_type) == (PostbackKind.DEPOSIT, "payment.captured")
    assert (event.status.status, event.status.raw) == (DepositStatus.SUCCEEDED, "captured")
    assert event.amount == Money("500.00", "INR")
    assert event.fee == Money("11.80", "INR")
    assert (event.reference, event.customer_id) == ("dep_0001", "cust-1")
    assert event.provider_reference == "pay_TestPay0000001"
    assert event.event_key == "deposit:order_TestOrd000001:succeeded"
    assert event.occurred_at == datetime.fromtimestamp(1735689605, UTC)
    assert [t.transaction_id for t in event.transactions] == ["pay_TestPay0000001"]


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("payment.authorized", "authorized", DepositStatus.PENDING),
        ("payment.failed", "failed", DepositStatus.PENDING),
        ("payment.captured", "refunded", DepositStatus.SUCCEEDED),
    ],
)
def test_payment_statuses(
    kit: Any, provider: RazorpayProvider, name: str, status: str, expected: DepositStatus
) -> None:
    """The payment's own status decides; a failed payment is not a failed deposit."""
    event = _event(kit, provider, name, {"payment": payment_entity(status=status)})
    assert event.status.status is expected
    assert not event.status.status.is_final or expected is DepositStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("name", "status", "expected", "amount"),
    [
        ("payment_link.paid", "paid", DepositStatus.SUCCEEDED, "500.00"),
        ("payment_link.partially_paid", "partially_paid", DepositStatus.PENDING, "200.00"),
        ("payment_link.cancelled", "cancelled", DepositStatus.FAILED, "500.00"),
        ("payment_link.expired", "expired", DepositStatus.FAILED, "500.00"),
    ],
)
def test_payment_link_events(  # noqa: PLR0917 - fixtures and parameters
    kit: Any,
    provider: RazorpayProvider,
    name: str,
    status: str,
    expected: DepositStatus,
    amount: str,
) -> None:
    """Link events are deposits: paid amount when paid, the link's amount otherwise."""
    paid = {"paid": 50000, "partially_paid": 20000}.get(status, 0)
    event = _event(
        kit, provider, name, {"payment_link": link_entity(status=status, amount_paid=paid)}
    )
    assert (event.kind, event.status.status) == (PostbackKind.DEPOSIT, expected)
    assert event.amount == Money(amount, "INR")
    assert (event.reference, event.provider_reference) == ("dep_0001", "plink_TestLink000001")


def test_payment_link_paid_with_payment(kit: Any, provider: RazorpayProvider) -> None:
    """payment_link.paid carries the payment: its fee and id come along."""
    payload = {
        "payment_link": link_entity(status="paid", amount_paid=50000),
        "payment": payment_entity(),
    }
    event = _event(kit, provider, "payment_link.paid", payload)
    assert event.fee == Money("11.80", "INR")
    assert [t.transaction_id for t in event.transactions] == ["pay_TestPay0000001"]


def test_partial_payments_have_distinct_keys(kit: Any, provider: RazorpayProvider) -> None:
    """Two partial payments of one link are two events (amount_paid is in the key)."""
    keys = {
        _event(
            kit,
            provider,
            "payment_link.partially_paid",
            {"payment_link": link_entity(status="partially_paid", amount_paid=paid)},
        ).event_key
        for paid in (10000, 20000)
    }
    assert len(keys) == 2


def test_order_paid(kit: Any, provider: RazorpayProvider) -> None:
    """order.paid is a SUCCEEDED deposit of the order."""
    order = {
        "id": "order_TestOrd000001",
        "amount": 50000,
        "amount_paid": 50000,
        "currency": "INR",
        "status": "paid",
        "notes": [],
    }
    event = _event(kit, provider, "order.paid", {"order": order, "payment": payment_entity()})
    assert (event.status.status, event.provider_reference) == (
        DepositStatus.SUCCEEDED,
        "order_TestOrd000001",
    )
    assert event.amount == Money("500.00", "INR")


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("refund.created", "pending", RefundStatus.PENDING),
        ("refund.processed", "processed", RefundStatus.SUCCEEDED),
        ("refund.failed", "failed", RefundStatus.FAILED),
        ("refund.speed_changed", "pending", RefundStatus.PENDING),
    ],
)
def test_refund_events(
    kit: Any, provider: RazorpayProvider, name: str, status: str, expected: RefundStatus
) -> None:
    """Refund events are REFUND events with the refund's status and reference."""
    payload = {"refund": refund_entity(status=status), "payment": payment_entity()}
    event = _event(kit, provider, name, payload)
    assert (event.kind, event.status.status) == (PostbackKind.REFUND, expected)
    assert (event.reference, event.provider_reference) == (
        "refund-0001-abcdef",
        "rfnd_TestRfnd000001",
    )
    assert event.amount == Money("250.00", "INR")


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("payout.pending", "pending", WithdrawalStatus.PENDING),
        ("payout.queued", "queued", WithdrawalStatus.PENDING),
        ("payout.initiated", "processing", WithdrawalStatus.PENDING),
        ("payout.processed", "processed", WithdrawalStatus.SUCCEEDED),
        ("payout.updated", "processed", WithdrawalStatus.SUCCEEDED),
        ("payout.reversed", "reversed", WithdrawalStatus.REVERSED),
        ("payout.failed", "failed", WithdrawalStatus.FAILED),
        ("payout.rejected", "rejected", WithdrawalStatus.FAILED),
    ],
)
def test_payout_events(
    kit: Any, provider: RazorpayProvider, name: str, status: str, expected: WithdrawalStatus
) -> None:
    """Payout events are withdrawals; reversed is REVERSED."""
    event = _event(
        kit, provider, name, {"payout": payout_entity(status=status, utr="523223155921")}
    )
    assert (event.kind, event.status.status) == (PostbackKind.WITHDRAWAL, expected)
    assert (event.reference, event.customer_id) == ("wd_0001", "cust-1")
    assert event.amount == Money("1000.00", "INR")


def test_payout_updated_key_has_utr(kit: Any, provider: RazorpayProvider) -> None:
    """payout.updated's key carries the UTR: its arrival is a new event."""
    event = _event(
        kit,
        provider,
        "payout.updated",
        {"payout": payout_entity(status="processed", utr="523223155921")},
    )
    assert event.event_key == "payout.updated:pout_TestPout000001:processed:523223155921"


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        (
            "payment.dispute.created",
            {"payment": payment_entity(), "dispute": {"id": "disp_1", "status": "open"}},
        ),
        ("settlement.processed", {"settlement": {"id": "setl_1", "status": "processed"}}),
        ("payout.downtime.started", {"payout.downtime": {"id": "poutdown_1", "status": "started"}}),
        ("subscription.charged", {}),
        ("something.new", {"thing": {"id": 5}}),
    ],
)
def test_other_events(
    kit: Any, provider: RazorpayProvider, name: str, payload: dict[str, Any]
) -> None:
    """Every other verified event is an OtherEvent, never an error."""
    event = _event(kit, provider, name, payload)
    assert isinstance(event, OtherEvent)
    assert (event.kind, event.event_type) == (PostbackKind.OTHER, name)
    assert event.event_key.startswith(name + ":")


def test_other_event_key_stable(kit: Any, provider: RazorpayProvider) -> None:
    """An OtherEvent's key is the same for a re-delivery and differs for a later event."""
    payload = {"settlement": {"id": "setl_1", "status": "processed"}}
    first = _event(kit, provider, "settlement.processed", payload).event_key
    again = _event(kit, provider, "settlement.processed", payload).event_key
    body, headers = kit.webhook("settlement.processed", payload, created_at=1735689999)
    later = provider.verify_postback(body, headers).event_key
    assert first == again != later


def test_key_ignores_event_id_header(kit: Any, provider: RazorpayProvider) -> None:
    """A replay with a new X-Razorpay-Event-Id keeps the key: the header is not signed."""
    body, headers = kit.webhook("payment.captured", {"payment": payment_entity()})
    first = provider.verify_postback(body, headers).event_key
    replay = provider.verify_postback(body, {**headers, "x-razorpay-event-id": "evt_forged"})
    assert first == replay.event_key


def test_key_survives_reserialisation(kit: Any, provider: RazorpayProvider) -> None:
    """The same event written with other whitespace and order keeps its key."""
    body, _ = kit.webhook("payout.processed", {"payout": payout_entity(status="processed")})
    pretty = json.dumps(dict(reversed(json.loads(body).items())), indent=2).encode()
    headers = {"x-razorpay-signature": webhook_signature(pretty, kit.webhook_secret)}
    assert provider.verify_postback(
        body, {"x-razorpay-signature": webhook_signature(body, kit.webhook_secret)}
    ).event_key == (provider.verify_postback(pretty, headers).event_key)


# -- signatures and size -------------------------------------------------------------------


def test_missing_signature(kit: Any, provider: RazorpayProvider) -> None:
    """No X-Razorpay-Signature header: SignatureError."""
    body, _ = kit.webhook("payment.captured", {"payment": payment_entity()})
    with pytest.raises(SignatureError, match="no X-Razorpay-Signature"):
        provider.verify_postback(body, {})


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "abc",
        "not hex at all but sixty four characters long, really it is yes.",
        "é" * 64,
        " " * 64,
    ],
)
def test_malformed_signature(kit: Any, provider: RazorpayProvider, signature: str) -> None:
    """A signature header that is no digest is refused."""
    body, _ = kit.webhook("payment.captured", {"payment": payment_entity()})
    with pytest.raises(SignatureError):
        provider.verify_postback(body, {"x-razorpay-signature": signature})


def test_upper_case_signature_refused(kit: Any, provider: RazorpayProvider) -> None:
    """Upper-case hex is refused, as by Razorpay's SDK."""
    body, headers = kit.webhook("payment.captured", {"payment": payment_entity()})
    with pytest.raises(SignatureError):
        provider.verify_postback(
            body, {"x-razorpay-signature": headers["x-razorpay-signature"].upper()}
        )


def test_wrong_secret(kit: Any, provider: RazorpayProvider) -> None:
    """A body signed with another secret (the API key secret, say) is refused."""
    body, headers = kit.webhook(
        "payment.captured", {"payment": payment_entity()}, secret=kit.key_secret
    )
    with pytest.raises(SignatureError):
        provider.verify_postback(body, headers)


def test_previous_secret_during_rotation(kit: Any) -> None:
    """During a rotation both secrets verify; once unset, the old one no longer does."""
    body, headers = kit.webhook(
        "payment.captured", {"payment": payment_entity()}, secret="kit-old-secret-0001"
    )
    rotating = kit.provider(previous_webhook_secret="kit-old-secret-0001")
    assert isinstance(rotating.verify_postback(body, headers), PostbackEvent)
    new_body, new_headers = kit.webhook("payment.captured", {"payment": payment_entity()})
    assert isinstance(rotating.verify_postback(new_body, new_headers), PostbackEvent)
    with pytest.raises(SignatureError):
        kit.provider().verify_postback(body, headers)


def test_header_name_case(kit: Any, provider: RazorpayProvider) -> None:
    """A caller passing headers as sent (X-Razorpay-Signature) is understood."""
    body, headers = kit.webhook("payment.captured", {"payment": payment_entity()})
    event = provider.verify_postback(
        body, {"X-Razorpay-Signature": headers["x-razorpay-signature"]}
    )
    assert isinstance(event, PostbackEvent)


def test_body_over_limit_refused_before_signature(kit: Any) -> None:
    """A body over max_postback_bytes is refused unread, even without a signature."""
    provider = kit.provider(max_postback_bytes=100)
    with pytest.raises(PayloadTooLargeError) as caught:
        provider.verify_postback(b"x" * 101, {})
    assert (caught.value.size, caught.value.limit) == (101, 100)


def test_body_at_limit_accepted(kit: Any) -> None:
    """A body exactly at the limit is read."""
    body, headers = kit.webhook("payment.captured", {"payment": payment_entity()})
    provider = kit.provider(max_postback_bytes=len(body))
    assert isinstance(provider.verify_postback(body, headers), PostbackEvent)


# -- signed but malformed -----------------------------------------------------------------------


def _signed(kit: Any, body: bytes) -> dict[str, str]:
    return {"x-razorpay-signature": webhook_signature(body, kit.webhook_secret)}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",
        b"[]",
        b"{}",
        b'{"event": 5}',
        b'{"event": "payment.captured", "payload": {}}',
        b'{"event": "payment.captured", "payload": {"payment": {"entity": []}}}',
        b'{"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_1"}}}}',
        b'{"event": "payment.captured", "event": "payout.processed", "payload": {}}',
        b'{"event": "x", "created_at": NaN}',
        b'{"event": "x", "created_at": 1e999}',
        b'{"event": "x", "created_at": true}',
        b'{"event": "x", "contains": "payment"}',
        b'{"event": "x", "payload": "payment"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"event": "x", "created_at": ' + b"9" * 5000 + b"}",
    ],
)
def test_signed_malformed_bodies(kit: Any, provider: RazorpayProvider, body: bytes) -> None:
    """A correctly signed body that is not a documented webhook is MalformedPayloadError."""
    with pytest.raises(MalformedPayloadError):
        provider.verify_postback(body, _signed(kit, body))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 500.5),
        ("amount", "50000"),
        ("amount", -1),
        ("amount", True),
        ("currency", "XYZ1"),
        ("currency", None),
        ("id", None),
        ("created_at", -5),
    ],
)
def test_signed_entity_with_bad_field(
    kit: Any, provider: RazorpayProvider, field: str, value: object
) -> None:
    """A mistyped amount, currency, id or time in a signed entity is malformed, never money."""
    body, headers = kit.webhook("payment.captured", {"payment": payment_entity(**{field: value})})
    with pytest.raises(MalformedPayloadError):
        provider.verify_postback(body, headers)


def test_postback_answers(provider: RazorpayProvider) -> None:
    """Accepted: 200 with an empty body; otherwise 503, which Razorpay retries."""
    accepted, retry = (
        provider.postback_answer(accepted=True),
        provider.postback_answer(accepted=False),
    )
    assert (accepted.status_code, accepted.content) == (200, b"")
    assert (retry.status_code, retry.content) == (503, b"")


def test_postback_headers(provider: RazorpayProvider) -> None:
    """The provider names the headers the inbox must keep to verify a delivery again."""
    assert provider.postback_headers == frozenset({"x-razorpay-signature", "x-razorpay-event-id"})


def test_inbox_records_and_acknowledges(kit: Any) -> None:
    """Through the inbox: a payment event is applied once, an other event acknowledged."""
    applied: list[str] = []
    inbox = payplane.Inbox(
        payplane.MemoryStore(),
        lambda event, _txn: applied.append(event.event_key),
        providers={"razorpay": kit.settings_values()},
    )
    body, headers = kit.webhook("payout.processed", {"payout": payout_entity(status="processed")})
    answers = [inbox.receive("razorpay", body, headers).status_code for _ in range(2)]
    other, other_headers = kit.webhook("settlement.processed", {"settlement": {"id": "setl_1"}})
    answers.append(inbox.receive("razorpay", other, other_headers).status_code)
    bad = inbox.receive("razorpay", body, {"x-razorpay-signature": "0" * 64})
    assert answers == [200, 200, 200]
    assert bad.status_code == 400
    assert applied == ["payout.processed:pout_TestPout000001:processed"]
