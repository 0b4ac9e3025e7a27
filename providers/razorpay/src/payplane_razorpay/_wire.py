"""Wire classes mirroring Razorpay's JSON entities, and the one cattrs converter for them.

Field names and shapes follow Razorpay's entity pages (Payment Links, payments, refunds,
RazorpayX payouts, webhooks; see ``docs/providers/razorpay.md`` for the sources). The
converter is lenient about unknown members (they stay in the neutral records' ``raw``)
and strict about the types of the members it knows: an integer is never made from a
bool, a string or a float, a string never from a number. ``notes`` arrives as an object,
or as ``[]`` when empty (as Razorpay's samples show); both become a mapping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory

from payplane.exceptions import MalformedPayloadError

__all__ = [
    "Notes",
    "WireContact",
    "WireError",
    "WireErrorAnswer",
    "WireEvent",
    "WireFundAccount",
    "WireLinkPayment",
    "WireOrder",
    "WirePayment",
    "WirePaymentLink",
    "WirePaymentLinkList",
    "WirePayout",
    "WirePayoutList",
    "WireRefund",
    "WireRefundList",
    "WireStatusDetails",
    "loads",
    "make_converter",
    "structure",
]

T = TypeVar("T")

Notes = Mapping[str, Any]
"""Razorpay's ``notes`` (key-value pairs the merchant set; ``{}`` when empty), and any
other JSON object kept as a read-only mapping."""

_EMPTY: Notes = MappingProxyType({})


@attrs.frozen(kw_only=True)
class WireError:
    """The ``error`` object of a refusal (``code``, ``description``, ``field``, ...).

    ``source``, ``step`` and ``reason`` may be ``null``, ``"NA"`` or even ``"null"``.
    """

    code: str | None = None
    description: str | None = None
    field: str | None = None
    source: str | None = None
    step: str | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class WireErrorAnswer:
    """An error answer: ``{"error": {...}}``."""

    error: WireError


@attrs.frozen(kw_only=True)
class WireLinkPayment:
    """One entry of a Payment Link's ``payments`` (only captured payments are listed)."""

    payment_id: str
    amount: int
    status: str | None = None
    method: str | None = None
    created_at: int | None = None


@attrs.frozen(kw_only=True)
class WirePaymentLink:
    """A Payment Link entity."""

    id: str
    amount: int
    status: str
    currency: str = "INR"  # Razorpay's default when a link names none
    amount_paid: int | None = None
    reference_id: str | None = None
    short_url: str | None = None
    expire_by: int | None = None
    created_at: int | None = None
    updated_at: int | None = None
    order_id: str | None = None
    payments: tuple[WireLinkPayment, ...] | None = None
    notes: Notes = _EMPTY


@attrs.frozen(kw_only=True)
class WirePaymentLinkList:
    """The answer to ``GET /v1/payment_links``.

    Razorpay's sample answers ``{"payment_links": [...]}``; the generic collection shape
    (``items``) is read as well.
    """

    payment_links: tuple[WirePaymentLink, ...] | None = None
    items: tuple[WirePaymentLink, ...] | None = None

    def links(self) -> tuple[WirePaymentLink, ...]:
        """The links, whichever member held them."""
        return self.payment_links or self.items or ()


@attrs.frozen(kw_only=True)
class WirePayment:
    """A payment entity."""

    id: str
    amount: int
    currency: str
    status: str
    order_id: str | None = None
    invoice_id: str | None = None
    amount_refunded: int | None = None
    refund_status: str | None = None
    captured: bool | None = None
    method: str | None = None
    email: str | None = None
    contact: str | None = None
    fee: int | None = None
    tax: int | None = None
    error_code: str | None = None
    error_description: str | None = None
    notes: Notes = _EMPTY
    created_at: int | None = None


@attrs.frozen(kw_only=True)
class WireOrder:
    """An order entity (``order.paid`` webhooks)."""

    id: str
    amount: int
    currency: str
    status: str
    amount_paid: int | None = None
    receipt: str | None = None
    notes: Notes = _EMPTY
    created_at: int | None = None


@attrs.frozen(kw_only=True)
class WireRefund:
    """A refund entity."""

    id: str
    amount: int
    currency: str
    status: str
    payment_id: str | None = None
    receipt: str | None = None
    speed_requested: str | None = None
    speed_processed: str | None = None
    notes: Notes = _EMPTY
    created_at: int | None = None


@attrs.frozen(kw_only=True)
class WireRefundList:
    """A collection of refunds: ``{"entity": "collection", "count": N, "items": [...]}``."""

    items: tuple[WireRefund, ...] = ()


@attrs.frozen(kw_only=True)
class WireStatusDetails:
    """A payout's ``status_details``: why it is where it is."""

    reason: str | None = None
    description: str | None = None
    source: str | None = None


@attrs.frozen(kw_only=True)
class WirePayout:
    """A RazorpayX payout entity."""

    id: str
    amount: int
    currency: str
    status: str
    fund_account_id: str | None = None
    reference_id: str | None = None
    fees: int | None = None
    tax: int | None = None
    mode: str | None = None
    purpose: str | None = None
    utr: str | None = None
    narration: str | None = None
    status_details: WireStatusDetails | None = None
    notes: Notes = _EMPTY
    created_at: int | None = None


@attrs.frozen(kw_only=True)
class WirePayoutList:
    """A collection of payouts."""

    items: tuple[WirePayout, ...] = ()


@attrs.frozen(kw_only=True)
class WireContact:
    """A RazorpayX contact (only what the payout flow reads)."""

    id: str


@attrs.frozen(kw_only=True)
class WireFundAccount:
    """A RazorpayX fund account (only what the payout flow reads)."""

    id: str
    contact_id: str | None = None
    account_type: str | None = None


@attrs.frozen(kw_only=True)
class WireEvent:
    """A webhook's envelope: ``{"entity": "event", "event": ..., "payload": {...}}``.

    ``payload`` holds one member per name in ``contains``, each ``{"entity": {...}}``;
    its entities are structured one by one, as the event needs them.
    """

    event: str
    payload: Mapping[str, Any] = _EMPTY
    contains: tuple[str, ...] = ()
    account_id: str | None = None
    created_at: int | None = None


# -- JSON -------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:  # noqa: ANN401 - a json.JSONDecoder hook
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                msg = f"the member {key!r:.60} is repeated"
                raise ValueError(msg)
            seen.add(key)
    return data


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_members
)


def loads(content: bytes, what: str) -> Any:  # noqa: ANN401 - JSON until structured
    """Parse *content* as strict JSON: numbers with a fraction as ``Decimal``.

    NaN and infinities, a repeated member, invalid UTF-8, nesting too deep for the
    parser and integers too long to convert are all refused.

    Raises:
        MalformedPayloadError: not such JSON (names *what*).
    """
    try:
        return _DECODER.decode(content.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; so is an integer over
        # Python's digit limit.
        msg = f"{what} is not JSON: {type(exc).__name__}: {str(exc)[:120]}"
        raise MalformedPayloadError(msg) from None


# -- the converter ----------------------------------------------------------------------


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {value!r:.40}")


def _str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _type_error("a string", value)
    return value


def _int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error("an integer", value)
    return value


def _bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _type_error("true or false", value)
    return value


def _notes(value: object, _: type) -> Notes:
    if isinstance(value, Mapping):
        return MappingProxyType(dict(value))
    if isinstance(value, list | tuple) and not value:
        return _EMPTY
    raise _type_error("an object of notes", value)


def _optional(hook: Callable[[object, type], T]) -> Callable[[object, type], T | None]:
    def structure_optional(value: object, type_: type) -> T | None:
        return None if value is None else hook(value, type_)

    return structure_optional


def _is_array(type_: Any) -> bool:  # noqa: ANN401 - any type cattrs asks about
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004


def _array_factory(type_: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:  # noqa: ANN401
    inner = homogenous_tuple_structure_factory(type_, converter)

    def structure_array(value: object, target: Any) -> Any:  # noqa: ANN401
        # cattrs would iterate a dict's keys or a string's characters; JSON arrays only.
        if not isinstance(value, list | tuple):
            raise _type_error("a JSON array", value)
        return inner(value, target)

    return structure_array


def make_converter(*, detailed: bool = True) -> cattrs.Converter:
    """Return the converter of the wire classes.

    Unknown members are ignored, known ones type-checked strictly. *detailed*: errors
    are collected with their paths (for messages); without it the first one is raised
    as it is, which structures well-formed data about twice as fast.
    """
    converter = cattrs.Converter(forbid_extra_keys=False, detailed_validation=detailed)
    for type_, hook in ((str, _str), (int, _int), (bool, _bool)):
        converter.register_structure_hook(type_, hook)
        converter.register_structure_hook(type_ | None, _optional(hook))
    converter.register_structure_hook_func(lambda type_: type_ == Notes, _notes)
    converter.register_structure_hook_factory(_is_array, _array_factory)
    return converter


_CONVERTER = make_converter()
_FAST_CONVERTER = make_converter(detailed=False)


def structure(data: object, cls: type[T], *, what: str) -> T:
    """Structure *data* into *cls*; errors become one readable MalformedPayloadError.

    Well-formed data takes the fast converter; at its first error the detailed one
    structures the data again, so the error lists every problem with its path. Both use
    the same hooks: they accept exactly the same data.

    Raises:
        MalformedPayloadError: not a JSON object, or a missing or mistyped member (the
            message lists each, with its path), chained to cattrs' error.
    """
    if not isinstance(data, Mapping):
        msg = f"{what} is not a JSON object"
        raise MalformedPayloadError(msg)
    try:
        return _FAST_CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError):
        pass  # worded below, from the detailed converter's account of it
    try:
        return _CONVERTER.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        details = "; ".join(cattrs.transform_error(exc, path="$"))
        msg = f"{what} is malformed: {details}"
        raise MalformedPayloadError(msg) from exc
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"{what} is malformed: {type(exc).__name__}: {exc}"
        raise MalformedPayloadError(msg) from exc
