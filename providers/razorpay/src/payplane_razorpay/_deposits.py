"""Deposits: one Payment Link per deposit (``POST /v1/payment_links``).

Sources: https://razorpay.com/docs/api/payments/payment-links/create-standard/ (fields
and limits), https://razorpay.com/docs/api/payments/payment-links/fetch-all-standard/
(listing by ``reference_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from payplane import DepositRequest, DepositStart, Flow, HttpResponse, PaymentKind
from payplane.exceptions import (
    IntegrityError,
    MalformedPayloadError,
    NotFoundError,
    ProviderDeclinedError,
    ValidationError,
)
from payplane_razorpay._amounts import to_minor_units
from payplane_razorpay._api import PROVIDER_ID, Api, timestamp
from payplane_razorpay._entities import CUSTOMER_NOTE, REFERENCE_NOTE
from payplane_razorpay._wire import WirePaymentLink, WirePaymentLinkList, loads

__all__ = [
    "DEPOSIT_EXTRA",
    "EXPIRY_MAX_SECONDS",
    "EXPIRY_MIN_SECONDS",
    "find_link",
    "payment_link_payload",
    "start_deposit",
]

DEPOSIT_EXTRA = frozenset({"description"})
"""The ``DepositRequest.extra`` keys the provider takes."""
EXPIRY_MIN_SECONDS = 15 * 60
"""A link's ``expire_by`` must be at least 15 minutes ahead."""
EXPIRY_MAX_SECONDS = 180 * 24 * 3600
"""...and at most six months after creation: payplane reads that as 180 days."""

_OPERATION = "start_deposit"
_MAX_REFERENCE = 40
_MAX_NOTE = 255
_MAX_DESCRIPTION = 2048
_INR_MINIMUM = 100
_REUSED_REFERENCE = "already attempted"
_BAD_REQUEST = 400


def _text(field: str, value: str, high: int) -> str:
    if len(value) > high:
        msg = f"{len(value)} characters is over Razorpay's limit"
        raise ValidationError(field, msg, limit=f"at most {high} characters")
    return value


def _callback_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"{value!r:.80} is not an http(s) URL"
        raise ValidationError("success_url", msg, limit="http(s) URL")
    return value


def _expire_by(expires_at: datetime, now: float) -> int:
    expire_by = int(expires_at.timestamp())
    if expire_by < now + EXPIRY_MIN_SECONDS:
        msg = f"{expires_at.isoformat()} is less than 15 minutes ahead"
        raise ValidationError("expires_at", msg, limit="at least 15 minutes ahead")
    if expire_by > now + EXPIRY_MAX_SECONDS:
        msg = f"{expires_at.isoformat()} is more than 180 days ahead"
        raise ValidationError("expires_at", msg, limit="at most 180 days ahead")
    return expire_by


def payment_link_payload(request: DepositRequest, api: Api, now: float) -> dict[str, Any]:
    """Return the JSON body of ``POST /v1/payment_links`` for *request*.

    Args:
        request: The deposit.
        api: The API (its settings give the notification defaults).
        now: The current unix time, for the expiry bounds.

    Raises:
        ValidationError: no ``amount`` or ``reference``; a ``reference`` over 40
            characters; an amount that does not fit Razorpay's minor units (or under
            INR 1.00); ``payment_details`` asked without ``hosted_page``; ``expires_at``
            less than 15 minutes or more than 180 days ahead; a ``success_url`` that is
            not http(s); ``customer_id`` over 255 characters; an unknown ``extra`` key or
            a ``description`` over 2048 characters.
    """
    if not request.hosted_page:
        msg = "Razorpay offers a hosted page (a Payment Link), no payment details"
        raise ValidationError("hosted_page", msg, limit="hosted_page=True")
    if request.amount is None:
        msg = "a Payment Link needs a fixed amount"
        raise ValidationError("amount", msg, limit="required")
    if request.reference is None:
        msg = "the Payment Link's reference_id is the deposit's reference"
        raise ValidationError("reference", msg, limit="required")
    _text("reference", request.reference, _MAX_REFERENCE)
    _text("customer_id", request.customer_id, _MAX_NOTE)
    minimum = _INR_MINIMUM if request.amount.currency == "INR" else 1
    payload: dict[str, Any] = {
        "amount": to_minor_units(request.amount, "amount", minimum=minimum),
        "currency": request.amount.currency,
        "reference_id": request.reference,
        "notes": {REFERENCE_NOTE: request.reference, CUSTOMER_NOTE: request.customer_id},
        "notify": {"sms": api.settings.notify_sms, "email": api.settings.notify_email},
    }
    unknown = sorted(set(request.extra) - DEPOSIT_EXTRA)
    if unknown:
        msg = f"unknown option(s) {', '.join(unknown)}"
        raise ValidationError("extra", msg, limit=", ".join(sorted(DEPOSIT_EXTRA)))
    if "description" in request.extra:
        payload["description"] = _text(
            "extra.description", request.extra["description"], _MAX_DESCRIPTION
        )
    customer = {
        "name": request.customer_name,
        "email": request.customer_email,
        "contact": request.customer_phone,
    }
    if any(customer.values()):
        payload["customer"] = {key: value for key, value in customer.items() if value}
    if request.expires_at is not None:
        payload["expire_by"] = _expire_by(request.expires_at, now)
    if request.success_url is not None:
        payload["callback_url"] = _callback_url(request.success_url)
        payload["callback_method"] = "get"
    return payload


def _reused_reference(response: HttpResponse) -> bool:
    """Whether *response* refuses the link because its ``reference_id`` was used before."""
    if response.status_code != _BAD_REQUEST:
        return False
    try:
        data = loads(response.content, "the error")
    except MalformedPayloadError:
        return False
    error = data.get("error") if isinstance(data, dict) else None
    text = error.get("description") if isinstance(error, dict) else None
    return isinstance(text, str) and _REUSED_REFERENCE in text.lower()


def find_link(
    response: HttpResponse, api: Api, reference: str, operation: str
) -> tuple[WirePaymentLink, dict[str, Any]]:
    """Return the one link whose ``reference_id`` is *reference* in a listing answer.

    Raises:
        NotFoundError: none.
        IntegrityError: several (Razorpay keeps reference ids unique per link).
        MalformedPayloadError: the answer is not a listing.
    """
    what = "the payment link listing"
    listing, data = api.entity(response, WirePaymentLinkList, what)
    raw_links = data.get("payment_links") or data.get("items") or []
    found = [
        (link, raw)
        for link, raw in zip(listing.links(), raw_links, strict=False)
        if link.reference_id == reference
    ]
    if not found:
        msg = f"Razorpay lists no payment link with reference_id {reference!r} ({operation})"
        raise NotFoundError(msg, kind=PaymentKind.DEPOSIT.value, reference=reference)
    if len(found) > 1:
        ids = ", ".join(link.id for link, _ in found)
        msg = f"several payment links carry reference_id {reference!r}: {ids}"
        raise IntegrityError(msg)
    return found[0]


def start_deposit(
    request: DepositRequest, api: Api, clock: Callable[[], float]
) -> Flow[DepositStart]:
    """Create the deposit's Payment Link; return its hosted page.

    Link creation moves no money, and Razorpay refuses a second link with the same
    ``reference_id`` ("already attempted"), so the request is sent as replay-safe: when
    a retry (or an earlier run with the same reference) meets that refusal, the flow
    lists the links by ``reference_id`` and returns the one it finds, if it is the same
    deposit (same amount and currency).

    Raises (from the flow):
        ValidationError: see :func:`payment_link_payload` (nothing sent).
        ProviderDeclinedError: Razorpay refused; or the reference belongs to a link of
            another amount or currency.
        MalformedPayloadError: an answer that is not a link.
    """
    payload = payment_link_payload(request, api, clock())
    reference = payload["reference_id"]
    response = yield api.post(
        _OPERATION,
        api.url("payment_links"),
        payload,
        reference=reference,
        replay_safe=True,
    )
    if _reused_reference(response):
        listing = yield api.get(
            _OPERATION, api.url("payment_links", query={"reference_id": reference})
        )
        link, raw = find_link(listing, api, reference, _OPERATION)
        if (link.amount, link.currency) != (payload["amount"], payload["currency"]):
            msg = (
                f"reference {reference!r} already belongs to payment link {link.id} of "
                f"another amount or currency: use a new reference for a new deposit"
            )
            raise ProviderDeclinedError(msg, field_errors={"reference": [msg]})
    else:
        link, raw = api.entity(response, WirePaymentLink, "the payment link answer")
        if (link.amount, link.currency) != (payload["amount"], payload["currency"]):
            msg = (
                f"the payment link is for {link.amount} {link.currency} (minor units), "
                f"the request for {payload['amount']} {payload['currency']}"
            )
            raise IntegrityError(msg)
    if not link.short_url:
        msg = f"payment link {link.id} has no short_url"
        raise MalformedPayloadError(msg)
    return DepositStart(
        provider=PROVIDER_ID,
        customer_id=request.customer_id,
        currency=request.currency,
        hosted_page_url=link.short_url,
        reference=request.reference,
        provider_reference=link.id,
        expires_at=timestamp(link.expire_by, "the payment link"),
        raw=raw,
    )
