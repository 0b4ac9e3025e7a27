"""PostbackEvent and OtherEvent to JSON-safe data and back, exactly (amounts as strings)."""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from payplane._models import OtherEvent, PostbackEvent, PostbackKind, PostbackTransaction
from payplane._money import Money
from payplane._status import DepositStatus, MappedStatus, RefundStatus, WithdrawalStatus
from payplane.exceptions import MalformedPayloadError

__all__ = ["MAX_EVENT_DEPTH", "event_from_dict", "event_to_dict", "event_to_json"]


class _TooDeep(Exception):  # noqa: N818 - private control flow, never seen by users
    """The data nests deeper than the limit :func:`_plain` was given."""


_SCALARS = frozenset({str, int, bool, float, type(None)})


def _plain(value: object, depth: int, limit: list[int]) -> object:  # noqa: C901, PLR0911, PLR0912 - one fast path per kind: every stored event runs through it
    """Return *value* (found at nesting level *depth*) as JSON-safe data.

    ``limit`` is ``[deepest level allowed, deepest level seen]``: a container deeper than
    the first raises :class:`_TooDeep` at once; the second is kept up to date.

    A value whose type has ``__payplane_json__()`` is written as the data that method
    returns, as returned: JSON-safe data (dicts with string keys, lists, strings,
    numbers, booleans, ``None``) of at most two levels, which the provider vouches for.
    It is how a lazy provider type (Paykassma's map of about 180 converted amounts)
    gives its exact stored form without building every item. When ``limit`` holds a
    third item (a list) and the type also has ``__payplane_json_text__()``, returning
    that data's compact ASCII JSON text (or ``None``), the text is kept in that list and
    a placeholder returned, for :func:`event_to_json` to splice in after encoding.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict or kind is list:
        if depth > limit[1]:
            limit[1] = depth
            if depth > limit[0]:
                raise _TooDeep
        inner = depth + 1
        if kind is dict:
            return {
                k if type(k) is str else str(k): v
                if type(v) in _SCALARS
                else _plain(v, inner, limit)
                for k, v in value.items()  # type: ignore[attr-defined]
            }
        return [v if type(v) in _SCALARS else _plain(v, inner, limit) for v in value]  # type: ignore[attr-defined]
    if kind is Decimal:
        return str(value)
    hook = getattr(kind, "__payplane_json__", None)
    if hook is not None:
        if depth + 1 > limit[1]:
            limit[1] = depth + 1
            if depth + 1 > limit[0]:
                raise _TooDeep
        if len(limit) > 2:  # noqa: PLR2004 - fragments wanted: [max, deepest, fragments]
            texts: list[str] = limit[2]  # type: ignore[assignment]
            as_text = getattr(kind, "__payplane_json_text__", None)
            fragment = None if as_text is None else as_text(value)
            if fragment is not None:
                texts.append(fragment)
                return _placeholder(len(texts) - 1)
        return hook(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, Money | Mapping | tuple):
        return value  # not JSON: the encoder says so
    if depth > limit[1]:
        limit[1] = depth
        if depth > limit[0]:
            raise _TooDeep
    if isinstance(value, Money):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1, limit) for k, v in value.items()}
    return [_plain(v, depth + 1, limit) for v in value]


_UNLIMITED = 10**9


def _status(
    mapped: MappedStatus[Any] | None, raw_depth: int, limit: list[int]
) -> dict[str, object] | None:
    if mapped is None:
        return None
    return {"status": mapped.status.value, "raw": _plain(mapped.raw, raw_depth, limit)}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def event_to_dict(event: PostbackEvent | OtherEvent) -> dict[str, object]:
    """Return *event* as JSON-safe data: amounts as strings, datetimes in ISO 8601.

    A :class:`~payplane.PostbackEvent`'s ``unsigned`` is written as a sorted list of field
    names.
    """
    return _event_dict(event, [_UNLIMITED, 1])


def _event_dict(event: PostbackEvent | OtherEvent, limit: list[int]) -> dict[str, object]:
    """:func:`event_to_dict`, with :func:`_plain`'s depth *limit* (the event is level 1).

    The structure's own containers: the amount, fee, status, transactions and unsigned
    at level 2; in a transaction (level 3), its amount and status at level 4.
    """
    if isinstance(event, OtherEvent):
        return {
            "provider": event.provider,
            "kind": event.kind.value,
            "event_key": event.event_key,
            "event_type": event.event_type,
            "occurred_at": _time(event.occurred_at),
            "raw": _plain(event.raw, 2, limit),
        }
    limit[1] = max(limit[1], 4 if event.transactions else 2)
    if limit[1] > limit[0]:
        raise _TooDeep
    return {
        "provider": event.provider,
        "kind": event.kind.value,
        "event_key": event.event_key,
        "status": _status(event.status, 3, limit),
        "amount": event.amount.to_dict(),
        "customer_id": event.customer_id,
        "reference": event.reference,
        "occurred_at": _time(event.occurred_at),
        "transactions": [
            {
                "transaction_id": t.transaction_id,
                "amount": t.amount.to_dict(),
                "reference": t.reference,
                "status": _status(t.status, 5, limit),
                "occurred_at": _time(t.occurred_at),
                "raw": _plain(t.raw, 4, limit),
            }
            for t in event.transactions
        ],
        "raw": _plain(event.raw, 2, limit),
        "unsigned": sorted(event.unsigned),
        "provider_reference": event.provider_reference,
        "fee": None if event.fee is None else event.fee.to_dict(),
        "event_type": event.event_type,
    }


MAX_EVENT_DEPTH = 64
"""How deeply :func:`event_to_json` lets an event's JSON nest (the event object is level 1).

Far beyond any real postback (Paykassma's nest 5 levels), and far within what Python's
JSON reader can read back from any call depth."""

# Members of event_to_dict's output that are structure, not free text: never scrubbed,
# so that a stored event always rebuilds.
_STRUCTURE = frozenset(
    {"provider", "kind", "event_key", "amount", "fee", "occurred_at", "unsigned"}
)

# ensure_ascii: every non-ASCII character, lone surrogates and NUL included, is written
# as a \u escape, so the text fits any text column (PostgreSQL's text cannot hold NUL,
# UTF-8 cannot hold a lone surrogate) and reads back exactly.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def event_to_json(
    event: PostbackEvent | OtherEvent,
    *,
    scrub: Callable[[str], str] | None = None,
    max_depth: int = MAX_EVENT_DEPTH,
) -> str:
    """Return *event* as compact ASCII JSON text, which :func:`event_from_dict` reads back.

    Args:
        event: The event.
        scrub: Applied to every free-text string (names and values inside ``raw``, the
            customer id, references, transaction ids, raw statuses) to remove secrets;
            the structure (kind, key, amounts, times, statuses) is kept as is. A scrub
            with a ``forms`` attribute (a :class:`~payplane._secrets.Redactor`) runs only
            when one of its forms occurs in the text.
        max_depth: The deepest nesting written, counting the event object as 1.

    Raises:
        MalformedPayloadError: the event nests deeper than *max_depth*.
    """
    too_deep = f"the event nests deeper than {max_depth} levels"
    fragments: list[str] = []
    try:
        data = _event_dict(event, [max_depth, 1, fragments])  # type: ignore[list-item]
        text = _encode(data)
        spliced = _splice(text, fragments) if fragments else text
        if spliced is None:  # a placeholder not found once: take the data instead
            data = _event_dict(event, [max_depth, 1])
            spliced = _encode(data)
        text = spliced
    except (RecursionError, _TooDeep) as exc:
        raise MalformedPayloadError(too_deep) from exc
    if "\\ud" in text and _split_pair(data):
        msg = (
            "the event holds a surrogate pair as two separate characters (bytes that are "
            "not UTF-8, read leniently), which JSON cannot keep apart"
        )
        raise MalformedPayloadError(msg)
    if scrub is not None and _may_hold(text, scrub):
        text = _encode(_stored(_event_dict(event, [max_depth, 1]), scrub, max_depth))
    return text


# A raw value's own JSON text (``__payplane_json_text__``) enters the encoded event
# through a placeholder string: NUL, which JSON always escapes, and a random token, so
# no string of a postback can be mistaken for it.
_TOKEN = secrets.token_hex(8)


def _placeholder(index: int) -> str:
    return f"\x00payplane-json-{_TOKEN}-{index}\x00"


def _splice(text: str, fragments: list[str]) -> str | None:
    """Put each fragment in place of its placeholder; ``None`` if one is not there once."""
    for index, fragment in enumerate(fragments):
        encoded = _encode(_placeholder(index))
        if text.count(encoded) != 1:
            return None
        text = text.replace(encoded, fragment)
    return text


# A high surrogate followed by a low one: JSON writes them as the escape of one astral
# character, so a string holding them as two characters cannot be stored exactly.
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _split_pair(data: object) -> bool:
    """Whether a string in *data* (names too) holds a surrogate pair as two characters."""
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is str and not item.isascii() and _PAIR.search(item):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _escaped(form: str) -> str:
    return _encode(form)[1:-1]


def _may_hold(text: str, scrub: Callable[[str], str]) -> bool:
    """Whether *text* may hold something *scrub* replaces.

    The encoder escapes character by character, so a string holding a form holds that
    form's escape in the text: looking for the escapes finds every occurrence.
    """
    forms = getattr(scrub, "forms", None)
    if forms is None:
        return True  # an opaque scrub: always apply it
    return any(_escaped(form) in text for form in forms)


def _stored(
    data: dict[str, object], scrub: Callable[[str], str] | None, max_depth: int
) -> dict[str, object]:
    """Return *data* checked for depth (iteratively) and with its free text scrubbed."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if key in _STRUCTURE:
            out[key] = _copy(value, None, max_depth, 2)
        elif key == "status":
            out[key] = _status_copy(value, scrub, max_depth, 2)
        elif key == "transactions" and isinstance(value, list):
            out[key] = [_transaction_copy(t, scrub, max_depth) for t in value]
        else:
            out[key] = _copy(value, scrub, max_depth, 2)
    return out


def _status_copy(
    value: object, scrub: Callable[[str], str] | None, max_depth: int, depth: int
) -> object:
    if not isinstance(value, dict):
        return _copy(value, scrub, max_depth, depth)
    return {
        k: _copy(v, None if k == "status" else scrub, max_depth, depth + 1)
        for k, v in value.items()
    }


def _transaction_copy(value: object, scrub: Callable[[str], str] | None, max_depth: int) -> object:
    # A transaction sits at depth 3: event -> transactions -> transaction.
    if not isinstance(value, dict):
        return _copy(value, scrub, max_depth, 3)
    out: dict[str, object] = {}
    for key, item in value.items():
        if key in _STRUCTURE:
            out[key] = _copy(item, None, max_depth, 4)
        elif key == "status":
            out[key] = _status_copy(item, scrub, max_depth, 4)
        else:
            out[key] = _copy(item, scrub, max_depth, 4)
    return out


def _copy(value: object, scrub: Callable[[str], str] | None, max_depth: int, depth: int) -> object:
    """Copy JSON-safe *value* found at *depth*, without recursion; scrub its strings."""
    root: list[object] = [None]
    stack: list[tuple[object, Any, Any, int]] = [(value, root, 0, depth)]
    while stack:
        item, parent, slot, level = stack.pop()
        if isinstance(item, dict):
            if level > max_depth:
                msg = f"the event nests deeper than {max_depth} levels"
                raise MalformedPayloadError(msg)
            copied: dict[object, object] = {}
            for key, member in item.items():
                name = scrub(key) if scrub is not None and isinstance(key, str) else key
                copied[name] = None  # keeps the members' order
                stack.append((member, copied, name, level + 1))
            parent[slot] = copied
        elif isinstance(item, list | tuple):
            if level > max_depth:
                msg = f"the event nests deeper than {max_depth} levels"
                raise MalformedPayloadError(msg)
            items: list[object] = [None] * len(item)
            stack.extend((member, items, index, level + 1) for index, member in enumerate(item))
            parent[slot] = items
        elif isinstance(item, str) and scrub is not None:
            parent[slot] = scrub(item)
        else:
            parent[slot] = item
    return root[0]


_STATUS_ENUMS: dict[PostbackKind, type[DepositStatus | WithdrawalStatus | RefundStatus]] = {
    PostbackKind.DEPOSIT: DepositStatus,
    PostbackKind.WITHDRAWAL: WithdrawalStatus,
    PostbackKind.REFUND: RefundStatus,
}


def _event_status(kind: PostbackKind, data: Any) -> MappedStatus[Any]:  # noqa: ANN401
    enum = _STATUS_ENUMS[kind]
    return MappedStatus(enum(data["status"]), data["raw"])


def _optional_money(data: Any) -> Money | None:  # noqa: ANN401
    return None if data is None else Money.from_dict(data)


def _parse_time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _unsigned(value: object) -> frozenset[str]:
    # Events stored before PostbackEvent.unsigned existed have no "unsigned" member.
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        msg = f"unsigned must be a list of field names, not {value!r:.80}"
        raise TypeError(msg)
    return frozenset(value)


def event_from_dict(data: Mapping[str, Any]) -> PostbackEvent | OtherEvent:
    """Rebuild a :class:`~payplane.PostbackEvent` or :class:`~payplane.OtherEvent`.

    *data* is :func:`event_to_dict`'s output.

    Decimals inside ``raw`` come back as the strings they were stored as. Data stored
    before ``PostbackEvent.unsigned`` existed (no ``"unsigned"`` member)
    loads with an empty set.

    Raises:
        MalformedPayloadError: *data* is not a stored event.
    """
    try:
        kind = PostbackKind(data["kind"])
        if kind is PostbackKind.OTHER:
            return OtherEvent(
                provider=data["provider"],
                event_key=data["event_key"],
                event_type=data.get("event_type"),
                occurred_at=_parse_time(data.get("occurred_at")),
                raw=data.get("raw") or {},
            )
        return PostbackEvent(
            provider=data["provider"],
            kind=kind,
            event_key=data["event_key"],
            status=_event_status(kind, data["status"]),
            amount=Money.from_dict(data["amount"]),
            customer_id=data.get("customer_id"),
            reference=data.get("reference"),
            occurred_at=_parse_time(data.get("occurred_at")),
            transactions=tuple(
                PostbackTransaction(
                    transaction_id=t["transaction_id"],
                    amount=Money.from_dict(t["amount"]),
                    reference=t.get("reference"),
                    status=(
                        MappedStatus(WithdrawalStatus(t["status"]["status"]), t["status"]["raw"])
                        if t.get("status")
                        else None
                    ),
                    occurred_at=_parse_time(t.get("occurred_at")),
                    raw=t.get("raw") or {},
                )
                for t in data.get("transactions", [])
            ),
            raw=data.get("raw") or {},
            unsigned=_unsigned(data.get("unsigned")),
            provider_reference=data.get("provider_reference"),
            fee=_optional_money(data.get("fee")),
            event_type=data.get("event_type"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"not a stored postback event: {exc!r}"
        raise MalformedPayloadError(msg) from exc
