"""Webhooks: verified over the raw body, then mapped onto neutral events.

Razorpay signs the raw body with the webhook secret, HMAC-SHA256, lower-case hex in the
``X-Razorpay-Signature`` header (https://razorpay.com/docs/webhooks/validate-test/).
Payloads are ``{"entity": "event", "event": ..., "contains": [...], "payload": {<name>:
{"entity": {...}}}, "created_at": ...}`` (https://razorpay.com/docs/webhooks/payments/,
https://razorpay.com/docs/webhooks/payouts/ and the pages beside them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from payplane import (
    DepositStatus,
    MappedStatus,
    Money,
    OtherEvent,
    PostbackEvent,
    PostbackKind,
    PostbackTransaction,
)
from payplane.exceptions import (
    MalformedPayloadError,
    PayloadTooLargeError,
    PayplaneError,
    SignatureError,
)
from payplane_razorpay._amounts import from_minor_units
from payplane_razorpay._api import PROVIDER_ID, timestamp
from payplane_razorpay._entities import (
    CUSTOMER_NOTE,
    REFERENCE_NOTE,
    note,
    payment_fee,
    payout_fee,
)
from payplane_razorpay._settings import RazorpaySettings
from payplane_razorpay._statuses import (
    ORDER_STATUSES,
    PAYMENT_LINK_STATUSES,
    PAYMENT_STATUSES,
    PAYOUT_STATUSES,
    REFUND_STATUSES,
)
from payplane_razorpay._wire import (
    WireEvent,
    WireOrder,
    WirePayment,
    WirePaymentLink,
    WirePayout,
    WireRefund,
    loads,
    structure,
)

__all__ = [
    "EVENT_ID_HEADER",
    "LINK_EVENTS",
    "ORDER_EVENTS",
    "PAYMENT_EVENTS",
    "PAYOUT_EVENTS",
    "POSTBACK_HEADERS",
    "REFUND_EVENTS",
    "SIGNATURE_HEADER",
    "event_from",
    "verify_webhook",
]

T = TypeVar("T")

SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"
POSTBACK_HEADERS = frozenset({SIGNATURE_HEADER, EVENT_ID_HEADER})
"""The headers a delivery needs to be verified again (names lower-case)."""

PAYMENT_EVENTS = frozenset({"payment.authorized", "payment.captured", "payment.failed"})
LINK_EVENTS = frozenset(
    {
        "payment_link.paid",
        "payment_link.partially_paid",
        "payment_link.cancelled",
        "payment_link.expired",
    }
)
ORDER_EVENTS = frozenset({"order.paid"})
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.processed", "refund.failed", "refund.speed_changed"}
)
PAYOUT_EVENTS = frozenset(
    {
        "payout.pending",
        "payout.rejected",
        "payout.queued",
        "payout.initiated",
        "payout.processed",
        "payout.updated",
        "payout.reversed",
        "payout.failed",
    }
)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a caller outside the inbox may not have lower-cased the names
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def verify_webhook(
    body: bytes, headers: Mapping[str, str], settings: RazorpaySettings
) -> PostbackEvent | OtherEvent:
    """Verify a webhook delivery, then parse it.

    Checked in this order, each failure a typed error and never an event: the size
    (before any hashing), the signature header against every configured webhook secret
    (constant-time), the JSON, the envelope, the entity.

    Raises:
        PayloadTooLargeError: *body* is over ``max_postback_bytes``.
        SignatureError: no ``X-Razorpay-Signature``, or it matches no webhook secret.
        MalformedPayloadError: a signed body that is not a webhook Razorpay documents.
    """
    if len(body) > settings.max_postback_bytes:
        raise PayloadTooLargeError(len(body), settings.max_postback_bytes)
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        msg = "no X-Razorpay-Signature header"
        raise SignatureError(msg)
    given = signature.encode("ascii", "replace")
    # Every secret is tried (no early exit), so timing tells nothing of which matched.
    matched = False
    for secret in settings.webhook_secrets():
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        msg = "the X-Razorpay-Signature does not match the body under the webhook secret"
        raise SignatureError(msg)
    try:
        return event_from(body)
    except MalformedPayloadError:
        raise
    except PayplaneError as exc:
        raise MalformedPayloadError(exc.message) from exc


def _entity(event: WireEvent, name: str, cls: type[T]) -> tuple[T, dict[str, Any]]:
    member = event.payload.get(name)
    entity = member.get("entity") if isinstance(member, Mapping) else None
    if not isinstance(entity, dict):
        msg = f"{event.event}: the payload has no {name} entity"
        raise MalformedPayloadError(msg)
    return structure(entity, cls, what=f"{event.event}'s {name}"), entity


def _optional_entity(event: WireEvent, name: str, cls: type[T]) -> T | None:
    if name not in event.payload:
        return None
    return _entity(event, name, cls)[0]


def _other_key(event: WireEvent, body: bytes) -> str:
    """The key of an event payplane does not map: the event, its first entity, its time."""
    parts = [event.event]
    for name in event.contains:
        member = event.payload.get(name)
        entity = member.get("entity") if isinstance(member, Mapping) else None
        if isinstance(entity, Mapping):
            for field in ("id", "status"):
                value = entity.get(field)
                parts.append(value if isinstance(value, str) else "")
            break
    if event.created_at is not None:
        parts.append(str(event.created_at))
    else:
        parts.append(hashlib.sha256(body).hexdigest()[:32])
    return ":".join(parts)


def event_from(body: bytes) -> PostbackEvent | OtherEvent:
    """Parse a verified webhook *body* into a neutral event.

    Payments, Payment Links and orders are deposits, refunds are refunds, payouts are
    withdrawals; every other event (disputes, settlements, downtimes, subscriptions...)
    is an :class:`~payplane.OtherEvent`.

    The event key is built from signed content only. A deposit's is one per deposit and
    neutral status, whichever event reports it: ``deposit:<order id>:<status>``
    (Razorpay's order behind the link and its payment; the link's or payment's id when
    there is none yet), so ``payment.captured``, ``payment_link.paid`` and ``order.paid``
    for one payment are one event, applied once; ``payment_link.partially_paid`` adds
    ``amount_paid``. Refunds and payouts: ``<event>:<entity id>:<status>`` (plus the
    ``utr`` for ``payout.updated``). The ``X-Razorpay-Event-Id`` header is not covered by
    the signature: a key taken from it would let a replayed body with a new id pass for a
    new event.

    Raises:
        MalformedPayloadError: not JSON, no ``event``, or an entity that is missing or
            mistyped.
    """
    data = loads(body, "the webhook body")
    event = structure(data, WireEvent, what="the webhook body")
    name = event.event
    occurred = timestamp(event.created_at, name)
    if name in PAYMENT_EVENTS:
        payment, _ = _entity(event, "payment", WirePayment)
        status = PAYMENT_STATUSES.map(payment.status)
        return _deposit_event(
            name,
            data,
            key=_deposit_key(payment.order_id, payment.id, status),
            status=status,
            amount=from_minor_units(payment.amount, payment.currency, name),
            provider_reference=payment.id,
            reference=note(payment.notes, REFERENCE_NOTE),
            customer_id=note(payment.notes, CUSTOMER_NOTE),
            payment=payment,
            occurred=occurred or timestamp(payment.created_at, name),
        )
    if name in LINK_EVENTS:
        link, _ = _entity(event, "payment_link", WirePaymentLink)
        paid = link.status in {"paid", "partially_paid"} and link.amount_paid is not None
        amount = link.amount_paid if paid else link.amount
        status = PAYMENT_LINK_STATUSES.map(link.status)
        linked = _optional_entity(event, "payment", WirePayment)
        order_id = link.order_id or (linked.order_id if linked is not None else None)
        key = _deposit_key(order_id, link.id, status)
        if name == "payment_link.partially_paid":
            key += f":{link.amount_paid}"
        return _deposit_event(
            name,
            data,
            key=key,
            status=status,
            amount=from_minor_units(amount, link.currency, name),
            provider_reference=link.id,
            reference=link.reference_id or note(link.notes, REFERENCE_NOTE),
            customer_id=note(link.notes, CUSTOMER_NOTE),
            payment=linked,
            occurred=occurred or timestamp(link.updated_at, name),
        )
    if name in ORDER_EVENTS:
        order, _ = _entity(event, "order", WireOrder)
        status = ORDER_STATUSES.map(order.status)
        return _deposit_event(
            name,
            data,
            key=_deposit_key(order.id, order.id, status),
            status=status,
            amount=from_minor_units(
                order.amount if order.amount_paid is None else order.amount_paid,
                order.currency,
                name,
            ),
            provider_reference=order.id,
            reference=note(order.notes, REFERENCE_NOTE),
            customer_id=note(order.notes, CUSTOMER_NOTE),
            payment=_optional_entity(event, "payment", WirePayment),
            occurred=occurred or timestamp(order.created_at, name),
        )
    if name in REFUND_EVENTS:
        refund, _ = _entity(event, "refund", WireRefund)
        return PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.REFUND,
            event_key=f"{name}:{refund.id}:{refund.status}",
            status=REFUND_STATUSES.map(refund.status),
            amount=from_minor_units(refund.amount, refund.currency, name),
            reference=note(refund.notes, REFERENCE_NOTE),
            occurred_at=occurred or timestamp(refund.created_at, name),
            raw=data,
            provider_reference=refund.id,
            event_type=name,
        )
    if name in PAYOUT_EVENTS:
        payout, _ = _entity(event, "payout", WirePayout)
        key = f"{name}:{payout.id}:{payout.status}"
        if name == "payout.updated":
            key += f":{payout.utr or ''}"
        return PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.WITHDRAWAL,
            event_key=key,
            status=PAYOUT_STATUSES.map(payout.status),
            amount=from_minor_units(payout.amount, payout.currency, name),
            customer_id=note(payout.notes, CUSTOMER_NOTE),
            reference=payout.reference_id or note(payout.notes, REFERENCE_NOTE),
            occurred_at=occurred or timestamp(payout.created_at, name),
            raw=data,
            provider_reference=payout.id,
            fee=payout_fee(payout, name),
            event_type=name,
        )
    return OtherEvent(
        provider=PROVIDER_ID,
        event_key=_other_key(event, body),
        event_type=name,
        occurred_at=occurred,
        raw=data,
    )


def _deposit_key(order_id: str | None, own_id: str, status: MappedStatus[DepositStatus]) -> str:
    """One key per deposit and neutral status, whichever event (payment, link, order) says it.

    Razorpay reports one paid link as ``payment.captured``, ``payment_link.paid`` and
    ``order.paid``: three events, one deposit, one credit. Keyed by the order behind
    them all (the entity's own id while it has none) and the neutral status, they are
    one event to the inbox. Payment Links payplane creates take no partial payments.
    """
    return f"deposit:{order_id or own_id}:{status.status.value}"


def _deposit_event(
    name: str,
    data: dict[str, Any],
    *,
    key: str,
    status: MappedStatus[DepositStatus],
    amount: Money,
    provider_reference: str,
    reference: str | None,
    customer_id: str | None,
    payment: WirePayment | None,
    occurred: datetime | None,
) -> PostbackEvent:
    transactions: tuple[PostbackTransaction, ...] = ()
    fee = None
    if payment is not None:
        fee = payment_fee(payment, name)
        transactions = (
            PostbackTransaction(
                transaction_id=payment.id,
                amount=from_minor_units(payment.amount, payment.currency, name),
                reference=reference,
                occurred_at=timestamp(payment.created_at, name),
            ),
        )
    return PostbackEvent(
        provider=PROVIDER_ID,
        kind=PostbackKind.DEPOSIT,
        event_key=key,
        status=status,
        amount=amount,
        customer_id=customer_id,
        reference=reference,
        occurred_at=occurred,
        transactions=transactions,
        raw=data,
        provider_reference=provider_reference,
        fee=fee,
        event_type=name,
    )
