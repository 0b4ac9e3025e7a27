"""PostbackEvent and OtherEvent to JSON-safe data and back, exactly (amounts as strings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from payplane._models import OtherEvent, PostbackEvent, PostbackKind, PostbackTransaction
from payplane._money import Money
from payplane._status import DepositStatus, MappedStatus, RefundStatus, WithdrawalStatus
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


def event_to_dict(event: PostbackEvent | OtherEvent) -> dict[str, object]:
    """Return *event* as JSON-safe data: amounts as strings, datetimes in ISO 8601."""
    if isinstance(event, OtherEvent):
        return {
            "provider": event.provider,
            "kind": event.kind.value,
            "event_key": event.event_key,
            "event_type": event.event_type,
            "occurred_at": _time(event.occurred_at),
            "raw": _plain(event.raw),
        }
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
        "provider_reference": event.provider_reference,
        "fee": None if event.fee is None else event.fee.to_dict(),
        "event_type": event.event_type,
    }


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


def event_to_json(event: PostbackEvent | OtherEvent) -> str:
    """Return *event* as compact JSON text."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False)


def _parse_time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def event_from_dict(data: Mapping[str, Any]) -> PostbackEvent | OtherEvent:
    """Rebuild a :class:`~payplane.PostbackEvent` or :class:`~payplane.OtherEvent`.

    *data* is :func:`event_to_dict`'s output.

    Decimals inside ``raw`` come back as the strings they were stored as.

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
            provider_reference=data.get("provider_reference"),
            fee=_optional_money(data.get("fee")),
            event_type=data.get("event_type"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"not a stored postback event: {exc!r}"
        raise MalformedPayloadError(msg) from exc
