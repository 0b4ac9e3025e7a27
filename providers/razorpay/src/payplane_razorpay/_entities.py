"""Razorpay entities as neutral records: lookups, fees, references, customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payplane import LookupResult, Money, PaymentKind
from payplane_razorpay._amounts import from_minor_units
from payplane_razorpay._api import PROVIDER_ID, timestamp
from payplane_razorpay._statuses import (
    PAYMENT_LINK_STATUSES,
    PAYMENT_STATUSES,
    PAYOUT_STATUSES,
    REFUND_STATUSES,
)
from payplane_razorpay._wire import WirePayment, WirePaymentLink, WirePayout, WireRefund

__all__ = [
    "CUSTOMER_NOTE",
    "REFERENCE_NOTE",
    "link_lookup",
    "note",
    "payment_fee",
    "payment_lookup",
    "payout_fee",
    "payout_lookup",
    "refund_lookup",
]

REFERENCE_NOTE = "payplane_reference"
"""The ``notes`` key payplane stores the platform's reference under."""
CUSTOMER_NOTE = "payplane_customer_id"
"""The ``notes`` key payplane stores the platform's customer id under."""

# Payout statuses in which Razorpay has charged its fee.
_CHARGED = frozenset({"processing", "processed"})


def note(notes: Mapping[str, Any], key: str) -> str | None:
    """Return the text note *key*, or ``None`` when absent or not a non-empty string."""
    value = notes.get(key)
    return value if isinstance(value, str) and value else None


def payment_fee(payment: WirePayment, what: str) -> Money | None:
    """The fee Razorpay charged for a payment (GST included), in INR payments only.

    Razorpay does not say in which currency it reports the fee of an international
    payment, so payplane reports none then (``raw`` keeps it).
    """
    if payment.fee is None or payment.currency != "INR":
        return None
    return from_minor_units(payment.fee, "INR", what)


def payout_fee(payout: WirePayout, what: str) -> Money | None:
    """The fee of a payout (``fees``, GST included) once charged (processing, processed).

    ``fees`` already includes the GST that ``tax`` reports (Razorpay's samples show
    ``"fees": 590, "tax": 90``), so ``tax`` is not added. Before processing the fee is
    not known yet; a reversed payout's fee is credited back: both report ``None``.
    """
    if payout.fees is None or payout.status not in _CHARGED:
        return None
    return from_minor_units(payout.fees, payout.currency, what)


def link_lookup(link: WirePaymentLink, raw: Mapping[str, Any]) -> LookupResult:
    """A Payment Link as a deposit lookup; its captured payments stay in ``raw["payments"]``."""
    what = "the payment link"
    return LookupResult(
        provider=PROVIDER_ID,
        kind=PaymentKind.DEPOSIT,
        reference=link.reference_id or note(link.notes, REFERENCE_NOTE),
        provider_reference=link.id,
        status=PAYMENT_LINK_STATUSES.map(link.status),
        amount=from_minor_units(link.amount, link.currency, what),
        occurred_at=timestamp(link.updated_at or link.created_at, what),
        raw=raw,
    )


def payment_lookup(payment: WirePayment, raw: Mapping[str, Any]) -> LookupResult:
    """A payment as a deposit lookup."""
    what = "the payment"
    return LookupResult(
        provider=PROVIDER_ID,
        kind=PaymentKind.DEPOSIT,
        reference=note(payment.notes, REFERENCE_NOTE),
        provider_reference=payment.id,
        status=PAYMENT_STATUSES.map(payment.status),
        amount=from_minor_units(payment.amount, payment.currency, what),
        fee=payment_fee(payment, what),
        occurred_at=timestamp(payment.created_at, what),
        raw=raw,
    )


def payout_lookup(payout: WirePayout, raw: Mapping[str, Any]) -> LookupResult:
    """A payout as a withdrawal lookup."""
    what = "the payout"
    return LookupResult(
        provider=PROVIDER_ID,
        kind=PaymentKind.WITHDRAWAL,
        reference=payout.reference_id or note(payout.notes, REFERENCE_NOTE),
        provider_reference=payout.id,
        status=PAYOUT_STATUSES.map(payout.status),
        amount=from_minor_units(payout.amount, payout.currency, what),
        fee=payout_fee(payout, what),
        occurred_at=timestamp(payout.created_at, what),
        raw=raw,
    )


def refund_lookup(refund: WireRefund, raw: Mapping[str, Any]) -> LookupResult:
    """A refund as a refund lookup."""
    what = "the refund"
    return LookupResult(
        provider=PROVIDER_ID,
        kind=PaymentKind.REFUND,
        reference=note(refund.notes, REFERENCE_NOTE),
        provider_reference=refund.id,
        status=REFUND_STATUSES.map(refund.status),
        amount=from_minor_units(refund.amount, refund.currency, what),
        occurred_at=timestamp(refund.created_at, what),
        raw=raw,
    )
