"""Refunds of captured payments (``POST /v1/payments/{id}/refund``), full or partial.

Sources: https://razorpay.com/docs/api/refunds/create-normal (fields, statuses, errors),
https://razorpay.com/docs/api/refunds/normal-refunds-idempotent (``X-Refund-Idempotency``:
at least 10 letters, digits, ``-`` or ``_``; same key and body give the same refund; a
request arriving while the first is processed gets HTTP 409).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from payplane import (
    Flow,
    HttpRequest,
    HttpResponse,
    Money,
    PaymentKind,
    RefundRequest,
    RefundResult,
)
from payplane.exceptions import IntegrityError, ValidationError
from payplane_razorpay._amounts import from_minor_units, to_minor_units
from payplane_razorpay._api import PROVIDER_ID, Api, check_id
from payplane_razorpay._deposits import find_link
from payplane_razorpay._entities import REFERENCE_NOTE, note
from payplane_razorpay._statuses import REFUND_STATUSES
from payplane_razorpay._wire import WirePayment, WirePaymentLink, WireRefund, WireRefundList

__all__ = ["REFUND_EXTRA", "SPEEDS", "create_refund", "resolve_payment"]

REFUND_EXTRA = frozenset({"speed"})
"""The ``RefundRequest.extra`` keys the provider takes."""
SPEEDS = frozenset({"normal", "optimum"})
"""Refund speeds: ``normal`` (5-7 working days, the default) or ``optimum`` (instant
when possible)."""

_OPERATION = "create_refund"
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-]{10,}")
_MAX_KEY = 255  # not documented: a bound on what payplane sends in a header
_MAX_NOTE = 255
_INR_MINIMUM = 100


def _checked_request(request: RefundRequest) -> tuple[int | None, dict[str, Any]]:
    """Check what needs no exchange; return the amount in minor units and the extras."""
    reference = request.reference
    if len(reference) > _MAX_KEY or _IDEMPOTENCY_KEY.fullmatch(reference) is None:
        msg = f"{reference!r:.60} cannot be Razorpay's X-Refund-Idempotency key"
        limit = "10-255 letters, digits, hyphens or underscores"
        raise ValidationError("reference", msg, limit=limit)
    units = None
    if request.amount is not None:
        minimum = _INR_MINIMUM if request.amount.currency == "INR" else 1
        units = to_minor_units(request.amount, "amount", minimum=minimum)
    unknown = sorted(set(request.extra) - REFUND_EXTRA)
    if unknown:
        msg = f"unknown option(s) {', '.join(unknown)}"
        raise ValidationError("extra", msg, limit=", ".join(sorted(REFUND_EXTRA)))
    extra: dict[str, Any] = {}
    speed = request.extra.get("speed")
    if speed is not None:
        if speed not in SPEEDS:
            msg = f"{speed!r:.20} is not a refund speed"
            raise ValidationError("extra.speed", msg, limit="normal or optimum")
        extra["speed"] = speed
    notes = {REFERENCE_NOTE: reference}
    if request.reason is not None:
        if len(request.reason) > _MAX_NOTE:
            msg = "is kept in the refund's notes, at most 255 characters"
            raise ValidationError("reason", msg, limit="at most 255 characters")
        notes["reason"] = request.reason
    extra["notes"] = notes
    return units, extra


def _link_payment(link: WirePaymentLink, field: str) -> str:
    payments = link.payments or ()
    if len(payments) != 1:
        state = "no captured payment" if not payments else "several payments"
        msg = f"payment link {link.id} has {state}"
        if payments:
            msg += ": give the payment's id (pay_…) as deposit_provider_reference"
        raise ValidationError(field, msg, limit="a payment link paid by one payment")
    return payments[0].payment_id


def resolve_payment(
    request: RefundRequest, api: Api, operation: str
) -> Generator[HttpRequest, HttpResponse, tuple[str, str]]:
    """Find the payment a refund is of; return its id and the request field naming it.

    ``deposit_provider_reference`` may be the payment (``pay_…``) or the deposit's
    Payment Link (``plink_…``, fetched); else the deposit's reference finds the link
    (listed by ``reference_id``). A link must have been paid by exactly one payment.
    """
    given = request.deposit_provider_reference
    if given is not None:
        field = "deposit_provider_reference"
        check_id(field, given, ("pay_", "plink_"))
        if given.startswith("pay_"):
            return given, field
        response = yield api.get(operation, api.url("payment_links", given))
        link, _ = api.entity(
            response, WirePaymentLink, "the payment link", looked_up=(PaymentKind.DEPOSIT, given)
        )
        return _link_payment(link, field), field
    reference = request.deposit_reference
    assert reference is not None  # noqa: S101 - RefundRequest requires one of the two
    response = yield api.get(operation, api.url("payment_links", query={"reference_id": reference}))
    link, _ = find_link(response, api, reference, operation)
    return _link_payment(link, "deposit_reference"), "deposit_reference"


def _result(
    refund: WireRefund, raw: dict[str, Any], reference: str, payment_id: str
) -> RefundResult:
    return RefundResult(
        provider=PROVIDER_ID,
        reference=reference,
        provider_reference=refund.id,
        deposit_provider_reference=refund.payment_id or payment_id,
        status=REFUND_STATUSES.map(refund.status),
        amount=from_minor_units(refund.amount, refund.currency, "the refund"),
        raw=raw,
    )


def _money(units: int, currency: str) -> Money:
    return from_minor_units(units, currency, "the payment")


def create_refund(request: RefundRequest, api: Api) -> Flow[RefundResult]:
    """Refund (part of) a captured payment, checked against what is left of it first.

    The flow reads the payment (a replay-safe read): it must be ``captured``, in the
    request's currency, with at least the amount left (``amount - amount_refunded``);
    ``amount=None`` refunds what is left. Only then is the refund sent, with
    ``X-Refund-Idempotency: <reference>`` (moves money, replay-safe). When the check
    fails because this very refund was made by an earlier run with the same reference
    (a retry after an unknown outcome), the flow finds it among the payment's refunds
    (by the reference in its notes) and returns it.

    Raises (from the flow):
        ValidationError: the reference, the amount, an option; a payment that is not
            captured, in another currency, or without enough left (named field).
        NotFoundError: no such payment or Payment Link.
        IntegrityError: ``deposit_amount`` is not the payment's amount; the refund answer
            has another amount or currency.
        UnknownOutcomeError: HTTP 409, the same refund is still being processed.
        ProviderDeclinedError, MalformedPayloadError: as for every operation.
    """
    units, extra = _checked_request(request)
    payment_id, field = yield from resolve_payment(request, api, _OPERATION)
    response = yield api.get(_OPERATION, api.url("payments", payment_id))
    payment, _ = api.entity(
        response, WirePayment, "the payment", looked_up=(PaymentKind.DEPOSIT, payment_id)
    )
    currency = payment.currency
    if request.deposit_amount is not None and request.deposit_amount != _money(
        payment.amount, currency
    ):
        msg = (
            f"deposit_amount is {request.deposit_amount}, Razorpay's payment {payment.id} "
            f"is of {_money(payment.amount, currency)}"
        )
        raise IntegrityError(msg)
    if request.amount is not None and request.amount.currency != currency:
        msg = f"the payment is in {currency}, the refund in {request.amount.currency}"
        raise ValidationError("amount", msg, limit=f"currency {currency}")
    if payment.status not in {"captured", "refunded"}:
        msg = f"payment {payment.id} is {payment.status}; only captured payments are refunded"
        raise ValidationError(field, msg, limit="a captured payment")
    left = payment.amount - (payment.amount_refunded or 0)
    wanted = left if units is None else units
    if payment.status == "refunded" or wanted > left or wanted <= 0:
        # Perhaps this refund was made already, by an earlier run with this reference.
        response = yield api.get(
            _OPERATION, api.url("payments", payment_id, "refunds", query={"count": "100"})
        )
        refunds, data = api.entity(response, WireRefundList, "the payment's refunds")
        for refund, raw in zip(refunds.items, data.get("items") or [], strict=False):
            if note(refund.notes, REFERENCE_NOTE) == request.reference:
                return _result(refund, raw, request.reference, payment_id)
        msg = (
            f"{_money(wanted, currency)} is more than what is left of payment {payment.id} "
            f"({_money(left, currency)}: captured minus refunded)"
        )
        raise ValidationError("amount", msg, limit=f"<= {_money(left, currency)}")
    response = yield api.post(
        _OPERATION,
        api.url("payments", payment_id, "refund"),
        {"amount": wanted, **extra},
        reference=request.reference,
        moves_money=True,
        replay_safe=True,
        headers={"x-refund-idempotency": request.reference},
    )
    what = "the refund answer"
    refund, raw = api.entity(
        response, WireRefund, what, moves_money=True, reference=request.reference
    )
    if (refund.amount, refund.currency) != (wanted, currency):
        msg = (
            f"the refund answer is for {refund.amount} {refund.currency} (minor units), "
            f"the request for {wanted} {currency}"
        )
        raise IntegrityError(msg)
    return _result(refund, raw, request.reference, payment_id)
