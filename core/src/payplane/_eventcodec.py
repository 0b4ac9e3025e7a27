"""PostbackEvent to JSON-safe data and back, exactly (amounts as strings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from payplane._models import PostbackEvent, PostbackKind, PostbackTransaction
from payplane._money import Money
from payplane._status import DepositStatus, MappedStatus, WithdrawalStatus
from payplane.exceptions import MalformedPayloadError

__all__ = ["event_from_dict", "event_to_dict", "event_to_json"]


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _status(mapped: MappedStatus[Any] | None) -> dict[str, object] | None:
    if mapped is None:
        return None
    return {"status": mapped.status.value, "raw": _plain(mapped.raw)}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def event_to_dict(event: PostbackEvent) -> dict[str, object]:
    """Return *event* as JSON-safe data: amounts as strings, datetimes in ISO 8601.

    ``unsigned`` is written as a sorted list of field names.
    """
    return {
        "provider": event.provider,
        "kind": event.kind.value,
        "event_key": event.event_key,
        "status": _status(event.status),
        "amount": event.amount.to_dict(),
        "customer_id": event.customer_id,
        "reference": event.reference,
        "occurred_at": _time(event.occurred_at),
        "transactions": [
            {
                "transaction_id": t.transaction_id,
                "amount": t.amount.to_dict(),
                "reference": t.reference,
                "status": _status(t.status),
                "occurred_at": _time(t.occurred_at),
                "raw": _plain(t.raw),
            }
            for t in event.transactions
        ],
        "raw": _plain(event.raw),
        "unsigned": sorted(event.unsigned),
    }


def event_to_json(event: PostbackEvent) -> str:
    """Return *event* as compact JSON text."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False)


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


def event_from_dict(data: Mapping[str, Any]) -> PostbackEvent:
    """Rebuild a :class:`~payplane.PostbackEvent` from :func:`event_to_dict`'s output.

    Decimals inside ``raw`` come back as the strings they were stored as. Data stored
    before ``PostbackEvent.unsigned`` existed (no ``"unsigned"`` member)
    loads with an empty set.

    Raises:
        MalformedPayloadError: *data* is not a stored event.
    """
    try:
        kind = PostbackKind(data["kind"])
        raw_status = data["status"]
        status: MappedStatus[DepositStatus] | MappedStatus[WithdrawalStatus] = (
            MappedStatus(DepositStatus(raw_status["status"]), raw_status["raw"])
            if kind is PostbackKind.DEPOSIT
            else MappedStatus(WithdrawalStatus(raw_status["status"]), raw_status["raw"])
        )
        return PostbackEvent(
            provider=data["provider"],
            kind=kind,
            event_key=data["event_key"],
            status=status,
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
        )
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"not a stored postback event: {exc!r}"
        raise MalformedPayloadError(msg) from exc
