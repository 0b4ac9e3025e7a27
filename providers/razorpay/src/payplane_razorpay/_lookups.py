"""Lookups of deposits (Payment Links, payments), payouts and refunds.

Sources: https://razorpay.com/docs/api/payments/payment-links/ (fetch by id, list by
``reference_id``), https://razorpay.com/docs/api/payments/fetch-with-id,
https://razorpay.com/docs/api/x/payouts/fetch-with-id and
https://razorpay.com/docs/api/x/payouts/fetch-all (``account_number`` and
``reference_id`` filters), https://razorpay.com/docs/api/refunds/ (fetch by id).
"""

from __future__ import annotations

from payplane import Flow, LookupRequest, LookupResult, PaymentKind
from payplane.exceptions import (
    ConfigurationError,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from payplane_razorpay._api import PROVIDER_ID, Api, check_id
from payplane_razorpay._deposits import find_link
from payplane_razorpay._entities import (
    link_lookup,
    payment_lookup,
    payout_lookup,
    refund_lookup,
)
from payplane_razorpay._wire import (
    WirePayment,
    WirePaymentLink,
    WirePayout,
    WirePayoutList,
    WireRefund,
)

__all__ = ["look_up"]

_OPERATION = "look_up"
_FIELD = "provider_reference"


def _deposit(request: LookupRequest, api: Api) -> Flow[LookupResult]:
    given = request.provider_reference
    if given is None:
        reference = request.reference
        assert reference is not None  # noqa: S101 - LookupRequest requires one of the two
        response = yield api.get(
            _OPERATION, api.url("payment_links", query={"reference_id": reference})
        )
        link, raw = find_link(response, api, reference, _OPERATION)
        return link_lookup(link, raw)
    check_id(_FIELD, given, ("plink_", "pay_"))
    looked_up = (PaymentKind.DEPOSIT, given)
    if given.startswith("pay_"):
        response = yield api.get(_OPERATION, api.url("payments", given))
        payment, raw = api.entity(response, WirePayment, "the payment", looked_up=looked_up)
        result = payment_lookup(payment, raw)
    else:
        response = yield api.get(_OPERATION, api.url("payment_links", given))
        link, raw = api.entity(response, WirePaymentLink, "the payment link", looked_up=looked_up)
        result = link_lookup(link, raw)
    _check_reference(request, result)
    return result


def _withdrawal(request: LookupRequest, api: Api) -> Flow[LookupResult]:
    given = request.provider_reference
    if given is not None:
        check_id(_FIELD, given, ("pout_",))
        response = yield api.get(_OPERATION, api.url("payouts", given))
        looked_up = (PaymentKind.WITHDRAWAL, given)
        payout, raw = api.entity(response, WirePayout, "the payout", looked_up=looked_up)
        result = payout_lookup(payout, raw)
        _check_reference(request, result)
        return result
    reference = request.reference
    assert reference is not None  # noqa: S101 - LookupRequest requires one of the two
    account = api.settings.payout_account_number
    if account is None:
        msg = "looking payouts up by reference needs the merchant's RazorpayX account number"
        raise ConfigurationError(msg, field="payout_account_number", provider=PROVIDER_ID)
    query = {"account_number": account, "reference_id": reference}
    response = yield api.get(_OPERATION, api.url("payouts", query=query))
    listing, data = api.entity(response, WirePayoutList, "the payout listing")
    found = [
        (payout, raw)
        for payout, raw in zip(listing.items, data.get("items") or [], strict=False)
        if payout.reference_id == reference
    ]
    if not found:
        msg = (
            f"RazorpayX lists no payout with reference_id {reference!r} (after a lost "
            "answer, Razorpay advises looking again for up to an hour)"
        )
        raise NotFoundError(msg, kind=PaymentKind.WITHDRAWAL.value, reference=reference)
    if len(found) > 1:
        ids = ", ".join(payout.id for payout, _ in found)
        msg = f"several payouts carry reference_id {reference!r}: {ids}"
        raise IntegrityError(msg)
    return payout_lookup(*found[0])


def _refund(request: LookupRequest, api: Api) -> Flow[LookupResult]:
    given = request.provider_reference
    if given is None:
        msg = (
            "Razorpay refunds are looked up by their id (rfnd_…); to settle an unknown "
            "outcome, create the refund again with the same reference"
        )
        raise ValidationError(_FIELD, msg, limit="rfnd_…")
    check_id(_FIELD, given, ("rfnd_",))
    response = yield api.get(_OPERATION, api.url("refunds", given))
    looked_up = (PaymentKind.REFUND, given)
    refund, raw = api.entity(response, WireRefund, "the refund", looked_up=looked_up)
    result = refund_lookup(refund, raw)
    _check_reference(request, result)
    return result


def _check_reference(request: LookupRequest, result: LookupResult) -> None:
    """Refuse a result found by id whose reference contradicts the one given."""
    if (
        request.reference is not None
        and result.reference is not None
        and result.reference != request.reference
    ):
        msg = (
            f"{result.provider_reference} has reference {result.reference!r}, not "
            f"{request.reference!r}"
        )
        raise IntegrityError(msg)


def look_up(request: LookupRequest, api: Api) -> Flow[LookupResult]:
    """Fetch where a deposit, payout or refund stands.

    Deposits by ``provider_reference`` (a Payment Link ``plink_…`` or a payment
    ``pay_…``) or by ``reference`` (the link's ``reference_id``); withdrawals by
    ``pout_…`` or by ``reference`` (the payout's ``reference_id``; needs
    ``payout_account_number``); refunds by ``rfnd_…`` only. Every request is a read.

    Raises (from the flow):
        NotFoundError: Razorpay knows no such id, or lists nothing for the reference.
        ValidationError: an id of the wrong kind, or a refund without its id.
        ConfigurationError: a payout by reference without ``payout_account_number``.
        IntegrityError: the payment found has another reference, or several carry it.
    """
    if request.kind is PaymentKind.DEPOSIT:
        return (yield from _deposit(request, api))
    if request.kind is PaymentKind.WITHDRAWAL:
        return (yield from _withdrawal(request, api))
    return (yield from _refund(request, api))
