"""Turn a verified postback into a :class:`payplane.PostbackEvent`.

Event keys (the inbox deduplicates on them) are built only from the signed member, so a
tampered copy of a captured postback cannot pass for a new event:

* a deposit (``direction`` ``ingoing``, and the legacy format): ``"ingoing:"`` plus the
  credited transactions' ids, sorted, joined with ``","``;
* a withdrawal (``outgoing``): ``"outgoing:<withdrawal_id>:<withdrawal_status>"``; a
  status change is a new event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

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
from payplane_paykassma_wavepay._signing import LEGACY_SIGNED_MEMBER, VerifiedBody
from payplane_paykassma_wavepay._wire import (
    WireLegacyPostback,
    WirePostback,
    WireTransaction,
    converted_amounts_scanner,
    structure,
)

__all__ = ["POSTBACK_SCANNERS", "WITHDRAWAL_STATUSES", "event_from", "parse_datetime"]

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
}
"""Members read as :class:`ConvertedAmounts` (lazily exact) rather than parsed eagerly."""

_DEPOSIT_CREDITED = DepositStatus.SUCCEEDED
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_fromisoformat = datetime.fromisoformat
_combine = datetime.combine


def parse_datetime(value: str | None, zone: tzinfo, *, field: str) -> datetime | None:
    """Read Paykassma's ``"YYYY-MM-DD HH:MM:SS"`` in *zone*; ``None`` or ``""`` is ``None``.

    Raises:
        MalformedPayloadError: any other text, or an impossible date.
    """
    if not value:
        return None
    if _DATETIME.fullmatch(value) is None:
        msg = f"{field}: {value!r} is not YYYY-MM-DD HH:MM:SS"
        raise MalformedPayloadError(msg)
    try:
        naive = _fromisoformat(value)
    except ValueError as exc:
        msg = f"{field}: {value!r} is not a valid date and time"
        raise MalformedPayloadError(msg) from exc
    # naive.replace(tzinfo=zone), at a fifth of the cost (replace parses keywords).
    return _combine(naive, naive.time(), zone)


def _money(amount: Decimal, currency: str | None, *, field: str) -> Money:
    if currency is None:
        msg = f"{field}: no currency_code"
        raise MalformedPayloadError(msg)
    try:
        return Money(amount, currency)
    except PayplaneError as exc:
        msg = f"{field}: {exc.message}"
        raise MalformedPayloadError(msg) from exc


def _transaction(
    wire: WireTransaction,
    raw: object,
    *,
    index: int,
    member: str,
    currency: str | None,
    zone: tzinfo,
    status: MappedStatus[WithdrawalStatus] | None,
) -> PostbackTransaction:
    code = wire.currency_code or currency
    try:
        # Built without the error paths' field names, which are only worded on failure.
        amount = Money(wire.amount, code)  # type: ignore[arg-type]
    except PayplaneError:
        amount = _money(wire.amount, code, field=f"{member}[{index}].amount")
    activated = wire.activated_datetime
    return PostbackTransaction(
        transaction_id=wire.transaction_id or None,
        amount=amount,
        reference=wire.withdrawal_id or wire.plugin_custom_order_id or None,
        status=status,
        occurred_at=parse_datetime(activated, zone, field=f"{member}[{index}].activated_datetime")
        if activated
        else None,
        raw=raw if isinstance(raw, dict) else {},
    )


def _deposit_key(items: Sequence[WireTransaction], member: str) -> str:
    ids = []
    for index, item in enumerate(items):
        if not item.transaction_id:
            # Also what stops a withdrawal postback whose (unsigned) direction was changed
            # to "ingoing" from passing for a deposit.
            msg = f"{member}[{index}].transaction_id: a deposit's transactions need ids"
            raise MalformedPayloadError(msg)
        ids.append(item.transaction_id)
    if not ids:
        msg = f"{member}: a deposit postback lists no transactions"
        raise MalformedPayloadError(msg)
    return "ingoing:" + ",".join(sorted(ids))


def _custom_reference(items: Sequence[WireTransaction]) -> str | None:
    references = {item.plugin_custom_order_id for item in items if item.plugin_custom_order_id}
    return references.pop() if len(references) == 1 else None


def _current(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    members = body.members
    wire = structure(members, WirePostback, what="the postback")
    raw_items: list[Any] = members["additional_data"]
    amount = _money(wire.amount, wire.currency_code, field="amount")
    occurred_at = parse_datetime(wire.created_datetime, zone, field="created_datetime")
    if wire.direction == "ingoing":
        key = _deposit_key(wire.additional_data, "additional_data")
        transactions = tuple(
            [
                _transaction(
                    item,
                    raw,
                    index=index,
                    member="additional_data",
                    currency=wire.currency_code,
                    zone=zone,
                    status=None,
                )
                for index, (item, raw) in enumerate(
                    zip(wire.additional_data, raw_items, strict=True)
                )
            ]
        )
        return PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.DEPOSIT,
            event_key=key,
            status=MappedStatus(_DEPOSIT_CREDITED, wire.direction),
            amount=amount,
            customer_id=wire.label or None,
            reference=_custom_reference(wire.additional_data),
            occurred_at=occurred_at,
            transactions=transactions,
            raw=members,
        )
    if wire.direction == "outgoing":
        if len(wire.additional_data) != 1:
            msg = (
                "additional_data: a withdrawal postback must list exactly one withdrawal, "
                f"not {len(wire.additional_data)}"
            )
            raise MalformedPayloadError(msg)
        item = wire.additional_data[0]
        if not item.withdrawal_id:
            msg = "additional_data[0].withdrawal_id: a withdrawal postback needs it"
            raise MalformedPayloadError(msg)
        status = WITHDRAWAL_STATUSES.map(item.withdrawal_status)
        code = "" if item.withdrawal_status is None else StatusMap.normalize(status.raw)
        transaction = _transaction(
            item,
            raw_items[0],
            index=0,
            member="additional_data",
            currency=wire.currency_code,
            zone=zone,
            status=status,
        )
        return PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.WITHDRAWAL,
            event_key=f"outgoing:{item.withdrawal_id}:{code}",
            status=status,
            amount=amount,
            customer_id=wire.label or None,
            reference=item.withdrawal_id,
            occurred_at=occurred_at,
            transactions=(transaction,),
            raw=members,
        )
    msg = f"direction: {wire.direction!r} is neither 'ingoing' nor 'outgoing'"
    raise MalformedPayloadError(msg)


def _legacy(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    members = body.members
    wire = structure(members, WireLegacyPostback, what="the legacy postback")
    raw_items: list[Any] = members[LEGACY_SIGNED_MEMBER]
    key = _deposit_key(wire.transactions, LEGACY_SIGNED_MEMBER)
    transactions = tuple(
        _transaction(
            item,
            raw,
            index=index,
            member=LEGACY_SIGNED_MEMBER,
            currency=None,
            zone=zone,
            status=None,
        )
        for index, (item, raw) in enumerate(zip(wire.transactions, raw_items, strict=True))
    )
    currencies = {transaction.amount.currency for transaction in transactions}
    if len(currencies) != 1:
        msg = f"transactions: expected one currency, found {', '.join(sorted(currencies))}"
        raise MalformedPayloadError(msg)
    # The legacy format has no top-level amount: the event's is the signed transactions' sum.
    amount = transactions[0].amount
    for transaction in transactions[1:]:
        amount += transaction.amount
    return PostbackEvent(
        provider=PROVIDER_ID,
        kind=PostbackKind.DEPOSIT,
        event_key=key,
        status=MappedStatus(_DEPOSIT_CREDITED, "legacy"),
        amount=amount,
        customer_id=wire.label or None,
        reference=_custom_reference(wire.transactions),
        occurred_at=None,
        transactions=transactions,
        raw=members,
    )


def event_from(body: VerifiedBody, zone: tzinfo) -> PostbackEvent:
    """Map a verified body onto a :class:`~payplane.PostbackEvent`.

    Raises:
        MalformedPayloadError: a missing or mistyped member, an unknown ``direction``,
            a deposit without transaction ids, a withdrawal without its id.
    """
    if body.signed_member == LEGACY_SIGNED_MEMBER:
        return _legacy(body, zone)
    return _current(body, zone)
