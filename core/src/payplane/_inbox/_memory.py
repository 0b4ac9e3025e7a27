"""The in-memory store: for tests and experiments; nothing survives the process."""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import attrs

from payplane._inbox._store import (
    DEFAULT_REJECTED_LIMIT,
    DEFAULT_REJECTED_MAX_AGE,
    REJECTED_BODY_LIMIT,
    InboxBusyError,
    InboxRecord,
    InboxTransaction,
    RecordState,
    RejectedPostback,
    _now,
    _retention,
    storable_text,
)

__all__ = ["MemoryStore"]


@attrs.define
class _MemoryRow:
    provider: str
    event_key: str
    body: bytes
    event_json: str
    state: RecordState = RecordState.RECEIVED
    attempts: int = 0
    replays: int = 0
    received_at: datetime = attrs.field(factory=_now)
    applied_at: datetime | None = None
    last_error: str | None = None


@attrs.define
class _MemoryApply:
    row: _MemoryRow
    state: RecordState
    transaction: InboxTransaction = attrs.field(factory=lambda: InboxTransaction(None))
    _applied: bool = False
    _replayed: bool = False
    _error: str | None = None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        yield  # nothing to roll back: an in-memory handler has no transaction

    def mark_applied(self) -> None:
        self._applied = True

    def mark_replayed(self) -> None:
        self._replayed = True

    def mark_failed(self, error: str) -> None:
        self._error = storable_text(error)


class MemoryStore:
    """In-process store for tests and experiments: nothing survives the process.

    Exactly once holds among the threads of one process.

    Args:
        rejected_limit: How many refused deliveries to keep, the newest (``None``: all).
        rejected_max_age: How long to keep a refused delivery (``None``: forever).
    """

    rejected_limit: int | None
    rejected_max_age: timedelta | None

    def __init__(
        self,
        *,
        rejected_limit: int | None = DEFAULT_REJECTED_LIMIT,
        rejected_max_age: timedelta | None = DEFAULT_REJECTED_MAX_AGE,
    ) -> None:
        self.rejected_limit, self.rejected_max_age = _retention(rejected_limit, rejected_max_age)
        self._rows: dict[tuple[str, str], _MemoryRow] = {}
        self._rejected: collections.deque[RejectedPostback] = collections.deque()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its state."""
        del wait  # the guard is only ever held briefly
        with self._guard:
            key = (provider, event_key)
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = _MemoryRow(provider, event_key, body, event_json)
                self._locks[key] = threading.Lock()
            return row.state

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Keep a refused delivery (at most 64 KiB of its body); drop the oldest."""
        now = _now()
        with self._guard:
            rejected = self._rejected
            rejected.append(
                RejectedPostback(
                    provider=provider,
                    received_at=now,
                    error=storable_text(error),
                    body=body[:REJECTED_BODY_LIMIT],
                )
            )
            if self.rejected_max_age is not None:
                cutoff = now - self.rejected_max_age
                while rejected and rejected[0].received_at < cutoff:
                    rejected.popleft()
            if self.rejected_limit is not None:
                while len(rejected) > self.rejected_limit:
                    rejected.popleft()

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_MemoryApply]:
        """Hold the event's lock (see :class:`~payplane.Store`)."""
        key = (provider, event_key)
        with self._guard:
            row, lock = self._rows.get(key), self._locks.get(key)
        if row is None or lock is None:
            raise LookupError(key)
        if not lock.acquire(timeout=wait):
            raise InboxBusyError(key)
        try:
            context = _MemoryApply(row, row.state)
            yield context
            if context._applied:  # noqa: SLF001 - its own helper
                row.state, row.applied_at, row.last_error = RecordState.APPLIED, _now(), None
                row.attempts += 1
            if context._replayed:  # noqa: SLF001
                row.replays += 1
            if context._error is not None:  # noqa: SLF001
                row.attempts += 1
                if row.state is not RecordState.APPLIED:
                    row.state, row.last_error = RecordState.FAILED, context._error  # noqa: SLF001
        finally:
            lock.release()

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        row = self._rows.get((provider, event_key))
        return None if row is None else _memory_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        with self._guard:
            rows = list(self._rows.values())
        rows = [
            r
            for r in reversed(rows)
            if (state is None or r.state is state) and (provider is None or r.provider == provider)
        ]
        return [_memory_record(r) for r in rows[:limit]]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        with self._guard:
            return list(reversed(self._rejected))[:limit]

    def close(self) -> None:
        """Nothing to release."""


def _memory_record(row: _MemoryRow) -> InboxRecord:
    return InboxRecord(
        provider=row.provider,
        event_key=row.event_key,
        state=row.state,
        attempts=row.attempts,
        replays=row.replays,
        received_at=row.received_at,
        applied_at=row.applied_at,
        last_error=row.last_error,
        body=row.body,
        event_data=json.loads(row.event_json),
    )
