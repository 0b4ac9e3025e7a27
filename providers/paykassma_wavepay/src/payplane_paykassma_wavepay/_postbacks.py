"""Turn a verified postback into a :class:`payplane.PostbackEvent`.

Paykassma signs one member of a postback: ``additional_data`` (current format) or
``transactions`` (legacy format), the list of transactions. Everything else at the top
level (``direction``, ``amount``, ``currency_code``, ``label``, ``wallet_type``,
``created_datetime``, ``converted_amount``...) travels unsigned: anyone holding a captured
postback can change it. So signed data decides:

* the kind: entries carrying ``withdrawal_id`` or ``withdrawal_status`` are withdrawals
  (exactly one per postback); entries with a ``transaction_id`` and neither of those are
  deposits; the legacy format carries deposits only;
* the amount: the sum of the signed entries' amounts; the currency: theirs;
* the event key, from the signed entries only:

  * a deposit: ``"ingoing:"`` plus the credited transactions' ids, sorted, joined with
    ``","``;
  * a withdrawal: ``"outgoing:<withdrawal_id>:<withdrawal_status>"``; a status change is
    a new event.

An unsigned member that contradicts the signed ones (``direction``, ``amount``,
``currency_code``, ``wallet_type``) makes the postback malformed. What only unsigned data
gives (``label`` as ``customer_id``, ``created_datetime`` as ``occurred_at``) is named in
:attr:`PostbackEvent.unsigned <payplane.PostbackEvent.unsigned>`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation
from operator import attrgetter
from typing import Any

import attrs

from payplane import (
    DepositStatus,
    MappedStatus,
    Money,
    PostbackEvent,
    PostbackKind,
    PostbackTransaction,
    StatusMap,
    WithdrawalStatus,
)
from payplane.exceptions import MalformedPayloadError, PayplaneError
from payplane_paykassma_wavepay._rawjson import strict_scanner
from payplane_paykassma_wavepay._signing import (
    CURRENT_SIGNED_MEMBER,
    LEGACY_SIGNED_MEMBER,
    VerifiedBody,
)
from payplane_paykassma_wavepay._wire import (
    WireLegacyPostback,
    WirePostback,
    WireTransaction,
    converted_amounts_scanner,
    structure,
)

__all__ = [
    "LEGACY_UNSIGNED_FIELDS",
    "MAX_AMOUNT",
    "MAX_DEPTH",
    "MIN_AMOUNT",
    "POSTBACK_SCANNERS",
    "UNSIGNED_FIELDS",
    "WITHDRAWAL_STATUSES",
    "event_from",
    "parse_datetime",
]

PROVIDER_ID = "paykassma_wavepay"

WITHDRAWAL_STATUSES: StatusMap[WithdrawalStatus] = StatusMap(
    WithdrawalStatus, {1: WithdrawalStatus.SUCCEEDED, 5: WithdrawalStatus.FAILED}
)
"""``additional_data[].withdrawal_status``: 1 success and 5 fail are documented; every other
code (an older panel lists 0 not activated, 2 rejected, 3 pending, 4 in processing,
6 canceled, meanings not confirmed) maps to the non-final ``UNKNOWN``, raw code kept."""

POSTBACK_SCANNERS = {
    "converted_amount": converted_amounts_scanner,
    "stockpiling": converted_amounts_scanner,
    CURRENT_SIGNED_MEMBER: strict_scanner,
    LEGACY_SIGNED_MEMBER: strict_scanner,
}
"""Members read otherwise than the rest: converted amounts lazily exact (as
:class:`ConvertedAmounts`), the signed members refusing a repeated name in any object."""

UNSIGNED_FIELDS = frozenset({"customer_id", "occurred_at"})
"""The event fields a current-format postback fills from unsigned members: ``label``
and ``created_datetime``."""

LEGACY_UNSIGNED_FIELDS = frozenset({"customer_id"})
"""The event fields a legacy postback fills from unsigned members: ``label``."""

MAX_DEPTH = 32
"""How deeply a postback may nest objects and arrays, the body itself being level 1.

Paykassma's deepest is 4 (body, ``additional_data``, an entry, its ``bank_details``).
Deeper bodies are malformed, so no recursive walk over an event (serialising it, its
``repr``) can run out of stack."""

MIN_AMOUNT = Decimal("0.00000001")
"""The smallest amount a signed entry may carry (a satoshi; MMK has 2 decimals)."""

MAX_AMOUNT = Decimal(10) ** 18
"""Signed entries' amounts must be below this: no wallet moves 10^18 of anything, and
the bounds keep an exact sum as short as its terms (``1e999999`` would not be)."""

_INGOING = "ingoing"
_OUTGOING = "outgoing"
_WALLET_CURRENCIES = frozenset({"MMK"})
_DEPOSIT_CREDITED = DepositStatus.SUCCEEDED
_CONTAINERS = frozenset({dict, list})
_ID_FIELDS = ("transaction_id", "withdrawal_id", "plugin_custom_order_id")
_AMOUNT_OF = attrgetter("amount")
_KNOWN_MEMBERS = {
    signed: frozenset(attrs.fields_dict(cls))
    for signed, cls in (
        (CURRENT_SIGNED_MEMBER, WirePostback),
        (LEGACY_SIGNED_MEMBER, WireLegacyPostback),
    )
}
# Sums of entries' amounts are exact (the default context would round to 28 digits); the
# amount bounds keep them short.
_exact_add = Context(
    prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact]
).add
# [0-9], not \d: \d also matches other scripts' digits (fullwidth, Myanmar...).
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# Text that ids and the label may not hold: control characters, and surrogate code
# points (a lone "\ud800" escape), which no UTF-8 text, URL or database column can carry.
_NOT_IN_ID = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_fromisoformat = datetime.fromisoformat
_combine = datetime.combine


def parse_datetime(value: str | None, zone: tzinfo, *, field: str) -> datetime | None:
    """Read Paykassma's ``"YYYY-MM-DD HH:MM:SS"`` in *zone*; ``None`` or ``""`` is ``None``.

    Raises:
        MalformedPayloadError: any other text (digits other than ASCII 0-9 included), or
            an impossible date.
    """
    if not value:
        return None
    if _DATETIME.fullmatch(value) is None:
        msg = f"{field}: {value!r:.60} is not YYYY-MM-DD HH:MM:SS"
        raise MalformedPayloadError(msg)
    try:
        naive = _fromisoformat(value)
    except ValueError as exc:
        msg = f"{field}: {value!r} is not a valid date and time"
        raise MalformedPayloadError(msg) from exc
    # naive.replace(tzinfo=zone), at a fifth of the cost (replace parses keywords).
    return _combine(naive, naive.time(), zone)


# -- checks over the body --------------------------------------------------------------


def _nested_deeper(value: object, limit: int) -> bool:
    """Return whether *value* (a dict or list) nests more than *limit* levels, itself one."""
    level: list[Any] = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) in _CONTAINERS
        ]
        depth += 1
    return False


def _check_depth(body: VerifiedBody) -> None:
    """Refuse a body nested deeper than :data:`MAX_DEPTH`; iterative, never recursive."""
    limit = MAX_DEPTH - 1  # a member's value sits at level 2
    members = body.members
    name = body.signed_member
    # A value cannot nest deeper than it has brackets: counting them (in C) settles
    # Paykassma's few flat entries without walking them.
    text = body.signed_text
    if text.count("[") + text.count("{") > limit:
        _refuse_deep(name, members[name], limit)
    # The members the wire classes know are read as scalars (or as a flat map of
    # converted amounts): a container there is refused as mistyped. Others are walked.
    if not members.keys() <= _KNOWN_MEMBERS[name]:
        for other, value in members.items():
            if type(value) in _CONTAINERS and other != name:
                _refuse_deep(other, value, limit)


def _refuse_deep(name: str, value: object, limit: int) -> None:
    if _nested_deeper(value, limit):
        msg = f"{name}: nested deeper than {MAX_DEPTH} levels"
        raise MalformedPayloadError(msg)


def _refuse_text(value: str, field: str) -> None:
    """Refuse control characters and lone surrogates in an id (printable text passes)."""
    found = _NOT_IN_ID.search(value)
    if found is not None:
        msg = f"{field}: holds {found.group()!r} at offset {found.start()}"
        raise MalformedPayloadError(msg)


def _entries(
    items: Sequence[WireTransaction], member: str, fallback: str | None
) -> tuple[PostbackKind, str, Decimal, str | None]:
    """Check the signed entries; return their kind, currency, total and wallet type.

    An entry carrying ``withdrawal_id`` or ``withdrawal_status`` is a withdrawal, one
    with a ``transaction_id`` and neither of those a deposit; all must be of one kind.
    Entries without ``currency_code`` are in *fallback* (an unsigned code), taken only
    if it is MMK. Amounts must lie in [:data:`MIN_AMOUNT`, :data:`MAX_AMOUNT`); the total
    is exact. Ids hold no control characters or lone surrogates. The wallet type is the
    entries' one (``None`` if none says, ``""`` if they disagree).
    """
    if not items:
        msg = f"{member}: the postback lists no transactions"
        raise MalformedPayloadError(msg)
    withdrawals = None
    currency = wallet = None
    total = items[0].amount
    for index, item in enumerate(items):
        is_withdrawal = _is_withdrawal(item, member, index)
        if withdrawals is not None and is_withdrawal is not withdrawals:
            msg = f"{member}: the signed entries mix deposits and withdrawals"
            raise MalformedPayloadError(msg)
        withdrawals = is_withdrawal
        amount = item.amount
        if not MIN_AMOUNT <= amount < MAX_AMOUNT:
            raise _out_of_bounds(amount, f"{member}[{index}].amount")
        if index:
            total = _exact_add(total, amount)
        code = item.currency_code
        if code:
            if currency is None:
                currency = code
            elif code != currency:
                msg = (
                    f"{member}: the signed entries mix currencies ({currency!r:.20}, {code!r:.20})"
                )
                raise MalformedPayloadError(msg)
        entry_wallet = item.wallet_type
        if entry_wallet and entry_wallet != wallet:
            wallet = entry_wallet if wallet is None else ""
    kind = PostbackKind.WITHDRAWAL if withdrawals else PostbackKind.DEPOSIT
    return kind, currency or _fallback_currency(member, fallback), total, wallet


def _is_withdrawal(item: WireTransaction, member: str, index: int) -> bool:
    """Whether an entry is a withdrawal, refusing odd text in its ids.

    A withdrawal entry carries its ``withdrawal_id`` or ``withdrawal_status``; a deposit
    entry a ``transaction_id`` and neither of those.
    """
    status = item.withdrawal_status
    withdrawal_id = item.withdrawal_id
    transaction_id = item.transaction_id
    custom_id = item.plugin_custom_order_id
    if (
        (transaction_id and not transaction_id.isprintable())
        or (withdrawal_id and not withdrawal_id.isprintable())
        or (custom_id and not custom_id.isprintable())
    ):
        for name, value in zip(_ID_FIELDS, (transaction_id, withdrawal_id, custom_id), strict=True):
            if value:
                _refuse_text(value, f"{member}[{index}].{name}")
    if withdrawal_id or (status is not None and status != ""):
        return True
    if transaction_id:
        return False
    msg = (
        f"{member}[{index}]: neither a deposit (no transaction_id) nor a withdrawal "
        "(no withdrawal_id or withdrawal_status)"
    )
    raise MalformedPayloadError(msg)


def _out_of_bounds(amount: Decimal, field: str) -> MalformedPayloadError:
    msg = (
        f"{field}: {amount:.40} is outside the amounts a transaction can carry "
        f"(from {MIN_AMOUNT:f} to below 10^18)"
    )
    return MalformedPayloadError(msg)


def _fallback_currency(member: str, fallback: str | None) -> str:
    """The currency of entries that name none: *fallback* (unsigned), if it is MMK."""
    # Only the top-level code is left, unsigned. Taken only when it is the one currency
    # Wavepay moves, so that an unsigned field can never choose a currency.
    if fallback is not None and fallback in _WALLET_CURRENCIES:
        return fallback
    msg = f"{member}[0].currency_code: the signed entries name no currency"
    if fallback is not None:
        msg += f", and the unsigned currency_code {fallback!r:.20} is not MMK"
    raise MalformedPayloadError(msg)


def _transaction(
    wire: WireTransaction,
    raw: object,
    currency: str,
    zone: tzinfo,
    *,
    status: MappedStatus[WithdrawalStatus] | None,
) -> PostbackTransaction:
    activated = wire.activated_datetime
    return PostbackTransaction(
        transaction_id=wire.transaction_id or None,
        amount=Money(wire.amount, currency),
        reference=wire.withdrawal_id or wire.plugin_custom_order_id or None,
        status=status,
        occurred_at=parse_datetime(activated, zone, field="activated_datetime")
        if activated
        else None,
        raw=raw if type(raw) is dict else {},
    )


def _transactions(
    items: Sequence[WireTransaction],
    raw_items: list[Any],
    member: str,
    currency: str,
    zone: tzinfo,
    *,
    status: MappedStatus[WithdrawalStatus] | None = None,
) -> tuple[PostbackTransaction, ...]:
    built: list[PostbackTransaction] = []
    try:
        for item, raw in zip(items, raw_items, strict=True):
            built.append(_transaction(item, raw, currency, zone, status=status))
    except PayplaneError as exc:  # a datetime, or a currency code Money refuses
        field = "activated_datetime" if isinstance(exc, MalformedPayloadError) else "currency_code"
        message = exc.message.removeprefix("activated_datetime: ")
        msg = f"{member}[{len(built)}].{field}: {message}"
        raise MalformedPayloadError(msg) from exc
    return tuple(built)


def _check_unsigned(
    wire: WirePostback | WireLegacyPostback,
    items: Sequence[WireTransaction],
    member: str,
    kind: PostbackKind,
    total: Money,
    *,
    wallet: str | None,
) -> None:
    """Refuse unsigned top-level members that contradict the signed entries."""
    direction = wire.direction
    if direction is not None and direction != (
        _INGOING if kind is PostbackKind.DEPOSIT else _OUTGOING
    ):
        if direction not in {_INGOING, _OUTGOING}:
            msg = f"direction: {direction!r:.40} is neither 'ingoing' nor 'outgoing'"
        else:
            listed = "deposits" if kind is PostbackKind.DEPOSIT else "a withdrawal"
            msg = f"direction: {direction!r} contradicts the signed {member}, which lists {listed}"
        raise MalformedPayloadError(msg)
    currency_code = wire.currency_code
    if currency_code is not None and currency_code != total.currency:
        msg = (
            f"currency_code: {currency_code!r:.20} contradicts the signed {member}, which "
            f"is in {total.currency}"
        )
        raise MalformedPayloadError(msg)
    # The top-level amount is the sum of the signed entries; Paykassma's own published
    # example reports one entry's amount instead (6000 for entries of 100 and 6000), so
    # that is accepted too. The event's amount is the signed sum either way.
    amount = wire.amount
    if (
        amount is not None
        and amount != total.amount
        and (len(items) == 1 or not any(map(amount.__eq__, map(_AMOUNT_OF, items))))
    ):
        msg = f"amount: {amount:.40} contradicts the signed {member}, whose amounts total {total}"
        raise MalformedPayloadError(msg)
    wallet_type = wire.wallet_type
    if wallet_type and wallet is not None and wallet != wallet_type:
        signed = f"{wallet!r:.40}" if wallet else "several wallet types"
        msg = f"wallet_type: {wallet_type!r:.40} contradicts the signed {member} ({signed})"
        raise MalformedPayloadError(msg)


def _custom_reference(items: Sequence[PostbackTransaction]) -> str | None:
    references = {item.reference for item in items if item.reference}
    return references.pop() if len(references) == 1 else None


def _deposit_key(transactions: Sequence[PostbackTransaction]) -> str:
    ids = [transaction.transaction_id for transaction in transactions]
    return "ingoing:" + ",".join(sorted(ids))  # type: ignore[arg-type] # deposits have ids


def _withdrawal(
    items: Sequence[WireTransaction], raw_items: list[Any], member: str, currency: str, zone: tzinfo
) -> tuple[str, MappedStatus[WithdrawalStatus], PostbackTransaction]:
    """The event key, status and transaction of a withdrawal postback's one entry."""
    if len(items) != 1:
        msg = f"{member}: a withdrawal postback must list exactly one withdrawal, not {len(items)}"
        raise MalformedPayloadError(msg)
    item = items[0]
    field = f"{member}[0]"
    if not item.withdrawal_id:
        msg = f"{field}.withdrawal_id: a withdrawal postback needs it"
        raise MalformedPayloadError(msg)
    code = item.withdrawal_status
    if type(code) is str:
        if not code.isprintable():
            _refuse_text(code, f"{field}.withdrawal_status")
    elif code is not None and type(code) is not int:
        msg = f"{field}.withdrawal_status: {code!r:.40} is not a status code (integer or text)"
        raise MalformedPayloadError(msg)
    status = WITHDRAWAL_STATUSES.map(code)
    [transaction] = _transactions(items, raw_items, member, currency, zone, status=status)
    key_code = "" if code is None else StatusMap.normalize(code)
    return f"outgoing:{item.withdrawal_id}:{key_code}", status, transaction


def _label(label: str | None) -> str | None:
    if not label:
        return None
    if not label.isprintable():
        _refuse_text(label, "label")
    return label


def _current(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    members = body.members
    member = CURRENT_SIGNED_MEMBER
    wire = structure(members, WirePostback, what="the postback")
    items = wire.additional_data
    raw_items: list[Any] = members[member]
    kind, currency, total, wallet = _entries(items, member, wire.currency_code)
    status: MappedStatus[Any]
    if kind is PostbackKind.DEPOSIT:
        transactions = _transactions(items, raw_items, member, currency, zone)
        key = _deposit_key(transactions)
        status = MappedStatus(_DEPOSIT_CREDITED, wire.direction)
        reference = _custom_reference(transactions)
    else:
        key, status, transaction = _withdrawal(items, raw_items, member, currency, zone)
        transactions = (transaction,)
        reference = transaction.reference
    amount = transactions[0].amount if len(transactions) == 1 else Money(total, currency)
    _check_unsigned(wire, items, member, kind, amount, wallet=wallet)
    return PostbackEvent(
        provider=PROVIDER_ID,
        kind=kind,
        event_key=key,
        status=status,
        amount=amount,
        customer_id=_label(wire.label),
        reference=reference,
        occurred_at=parse_datetime(wire.created_datetime, zone, field="created_datetime"),
        transactions=transactions,
        raw=members,
        unsigned=UNSIGNED_FIELDS,
    )


def _legacy(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    members = body.members
    member = LEGACY_SIGNED_MEMBER
    wire = structure(members, WireLegacyPostback, what="the legacy postback")
    items = wire.transactions
    # Legacy entries carry their currency: the format has no top-level one to fall back on.
    kind, currency, total, wallet = _entries(items, member, None)
    if kind is not PostbackKind.DEPOSIT:
        msg = f"{member}: the legacy format carries deposits only, not withdrawals"
        raise MalformedPayloadError(msg)
    transactions = _transactions(items, members[member], member, currency, zone)
    amount = transactions[0].amount if len(transactions) == 1 else Money(total, currency)
    _check_unsigned(wire, items, member, kind, amount, wallet=wallet)
    return PostbackEvent(
        provider=PROVIDER_ID,
        kind=kind,
        event_key=_deposit_key(transactions),
        status=MappedStatus(_DEPOSIT_CREDITED, "legacy"),
        amount=amount,
        customer_id=_label(wire.label),
        reference=_custom_reference(transactions),
        occurred_at=None,
        transactions=transactions,
        raw=members,
        unsigned=LEGACY_UNSIGNED_FIELDS,
    )


def event_from(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    """Map a verified body onto a :class:`~payplane.PostbackEvent`, signed data deciding.

    Raises:
        MalformedPayloadError: a missing or mistyped member; nesting deeper than
            :data:`MAX_DEPTH`; signed entries that are neither deposits nor withdrawals,
            mix the two or their currencies, or carry an amount outside
            [:data:`MIN_AMOUNT`, :data:`MAX_AMOUNT`); a withdrawal postback without
            exactly one entry with a ``withdrawal_id``; a legacy postback listing a
            withdrawal; an id or label holding control characters or lone surrogates;
            an unsigned ``direction``, ``amount``, ``currency_code`` or ``wallet_type``
            that contradicts the signed entries.
    """
    _check_depth(body)
    if body.signed_member == LEGACY_SIGNED_MEMBER:
        return _legacy(body, zone)
    return _current(body, zone)
