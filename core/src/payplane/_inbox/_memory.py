"""The in-memory store: for tests and experiments; nothing survives the process."""

from __future__ import annotations

import collections
import itertools
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
    EventRef,
    InboxBusyError,
    InboxRecord,
    InboxTransaction,
    NewRecord,
    PruneResult,
    RecordState,
    RejectedPostback,
    _now,
    _retention,
    check_page,
    headers_from_json,
    storable_text,
)

__all__ = ["MemoryStore"]

_WAITING = (RecordState.RECEIVED, RecordState.FAILED)


@attrs.define
class _MemoryRow:
    id: int
    ref: EventRef
    kind: str
    body: bytes
    event_json: str
    headers_json: str
    state: RecordState = RecordState.RECEIVED
    attempts: int = 0
    replays: int = 0
    received_at: datetime = attrs.field(factory=_now)
    applied_at: datetime | None = None
    next_attempt_at: datetime | None = None
    dead_at: datetime | None = None
    last_error: str | None = None
    lock: threading.Lock = attrs.field(factory=threading.Lock)


@attrs.define
class _MemoryApply:
    row: _MemoryRow
    state: RecordState
    fresh: bool
    transaction: InboxTransaction = attrs.field(factory=lambda: InboxTransaction(None))
    _applied: bool = False
    _replayed: bool = False
    _error: str | None = None
    _retry_at: datetime | None = None
    _dead: bool = False
    _ignored: bool = False

    @property
    def ref(self) -> EventRef:
        return self.row.ref

    @property
    def attempts(self) -> int:
        return self.row.attempts

    @property
    def event_json(self) -> str:
        return self.row.event_json

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        yield  # nothing to roll back: an in-memory handler has no transaction

    def mark_applied(self) -> None:
        self._applied = True

    def mark_replayed(self) -> None:
        self._replayed = True

    def mark_ignored(self) -> None:
        self._ignored = True

    def mark_failed(self, error: str, *, retry_in: float | None, dead: bool) -> None:
        self._error, self._dead = storable_text(error), dead
        self._retry_at = None if retry_in is None else _now() + timedelta(seconds=retry_in)

    def commit(self) -> None:
        row, now = self.row, _now()
        if self._ignored:
            row.state, row.applied_at = RecordState.IGNORED, now
            row.next_attempt_at = row.dead_at = None
        if self._applied:
            row.state, row.applied_at, row.last_error = RecordState.APPLIED, now, None
            row.next_attempt_at = row.dead_at = None
            row.attempts += 1
        if self._replayed:
            row.replays += 1
        if self._error is not None:
            row.attempts += 1
            if row.state is not RecordState.APPLIED:
                row.last_error = self._error
                row.state = RecordState.DEAD if self._dead else RecordState.FAILED
                row.next_attempt_at = None if self._dead else self._retry_at
                row.dead_at = now if self._dead else None


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
        self._rows: dict[EventRef, _MemoryRow] = {}
        self._rejected: collections.deque[RejectedPostback] = collections.deque()
        self._ids = itertools.count(1)
        self._guard = threading.Lock()

    def _insert(self, new: NewRecord, state: RecordState) -> _MemoryRow:
        row = _MemoryRow(
            next(self._ids),
            new.ref,
            new.kind,
            new.body,
            new.event_json,
            new.headers_json,
            state=state,
        )
        if state is RecordState.RECEIVED:
            row.next_attempt_at = row.received_at
        elif state is RecordState.IGNORED:
            row.applied_at = row.received_at
        self._rows[new.ref] = row
        return row

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present (see :class:`~payplane.Store`)."""
        del wait  # the guard is only ever held briefly
        with self._guard:
            row = self._rows.get(new.ref)
            if row is not None:
                return row.state, False
            return self._insert(new, state).state, True

    def reject(
        self, provider: str, account: str, body: bytes, error: str, headers_json: str
    ) -> None:
        """Keep a refused delivery (at most 64 KiB of its body); drop the oldest."""
        now = _now()
        with self._guard:
            rejected = self._rejected
            rejected.append(
                RejectedPostback(
                    provider=provider,
                    account=account,
                    received_at=now,
                    error=storable_text(error),
                    body=body[:REJECTED_BODY_LIMIT],
                    headers=headers_from_json(headers_json),
                    id=next(self._ids),
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
    def _holding(self, row: _MemoryRow, *, fresh: bool) -> Iterator[_MemoryApply]:
        """Run the apply context of *row*, whose lock the caller holds; release it."""
        try:
            context = _MemoryApply(row, RecordState.RECEIVED if fresh else row.state, fresh)
            try:
                yield context
            except BaseException:
                if fresh:  # the insert rolls back with the transaction
                    with self._guard:
                        del self._rows[row.ref]
                raise
            context.commit()
        finally:
            row.lock.release()

    @contextmanager
    def applying(
        self, ref: EventRef, *, wait: float, new: NewRecord | None = None
    ) -> Iterator[_MemoryApply]:
        """Hold the event's lock (see :class:`~payplane.Store`)."""
        with self._guard:
            row = self._rows.get(ref)
            fresh = row is None and new is not None
            if fresh:
                assert new is not None  # noqa: S101 - for mypy: fresh says so
                row = self._insert(new, RecordState.RECEIVED)
                row.next_attempt_at = None
                row.lock.acquire()  # free: nobody has seen the row yet
        if row is None:
            raise LookupError(ref)
        if not fresh and not row.lock.acquire(timeout=wait):
            raise InboxBusyError(str(ref))
        with self._holding(row, fresh=fresh) as context:
            yield context

    @contextmanager
    def claim(self, *, wait: float, lease: float) -> Iterator[_MemoryApply | None]:
        """Hold the next due event, skipping held ones (see :class:`~payplane.Store`)."""
        del wait, lease  # nothing to wait for, and nobody to enforce a lease
        now = _now()
        with self._guard:
            due = sorted(
                (
                    r
                    for r in self._rows.values()
                    if r.state in _WAITING
                    and r.next_attempt_at is not None
                    and r.next_attempt_at <= now
                ),
                key=lambda r: (r.next_attempt_at, r.id),
            )
            row = next((r for r in due if r.lock.acquire(blocking=False)), None)
        if row is None:
            yield None
            return
        with self._holding(row, fresh=False) as context:
            yield context

    def get(self, ref: EventRef) -> InboxRecord | None:
        """Return one record, or ``None``."""
        row = self._rows.get(ref)
        return None if row is None else _memory_record(row)

    def records(
        self,
        *,
        state: RecordState | None = None,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        limit, after = check_page(limit, after)
        with self._guard:
            rows = sorted(self._rows.values(), key=lambda r: r.id, reverse=True)
        picked = [
            r
            for r in rows
            if (state is None or r.state is state)
            and (provider is None or r.ref.provider == provider)
            and (account is None or r.ref.account == account)
            and (after is None or r.id < after)
        ]
        return [_memory_record(r) for r in picked[:limit]]

    def rejected(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        limit, after = check_page(limit, after)
        with self._guard:
            refused = list(reversed(self._rejected))
        return [
            r
            for r in refused
            if (provider is None or r.provider == provider)
            and (account is None or r.account == account)
            and (after is None or r.id < after)
        ][:limit]

    def requeue(self, ref: EventRef) -> RecordState | None:
        """Make a dead or failed event due now with a new count of attempts."""
        with self._guard:
            row = self._rows.get(ref)
            if row is None:
                return None
            if row.state in (RecordState.DEAD, RecordState.FAILED) and row.lock.acquire(
                blocking=False
            ):
                try:
                    row.state, row.attempts, row.dead_at = RecordState.RECEIVED, 0, None
                    row.next_attempt_at = _now()
                finally:
                    row.lock.release()
            return row.state

    def due(self, *, before: datetime, limit: int) -> list[EventRef]:
        """Return waiting events whose next attempt is before *before*, oldest first."""
        with self._guard:
            rows = [
                r
                for r in self._rows.values()
                if r.state in _WAITING
                and r.next_attempt_at is not None
                and r.next_attempt_at < before
            ]
        rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        return [r.ref for r in rows[:limit]]

    def prune(
        self,
        *,
        applied_before: datetime | None,
        rejected_before: datetime | None,
        batch: int,
        dry_run: bool,
    ) -> PruneResult:
        """Delete applied and ignored records and refused deliveries older than the times."""
        del batch  # one pass under the guard is short for an in-memory store
        with self._guard:
            old = [
                r
                for r in self._rows.values()
                if applied_before is not None
                and r.state in (RecordState.APPLIED, RecordState.IGNORED)
                and r.applied_at is not None
                and r.applied_at < applied_before
                and not r.lock.locked()
            ]
            refused = [
                r
                for r in self._rejected
                if rejected_before is not None and r.received_at < rejected_before
            ]
            if not dry_run:
                for row in old:
                    del self._rows[row.ref]
                gone = {id(r) for r in refused}
                self._rejected = collections.deque(r for r in self._rejected if id(r) not in gone)
        return PruneResult(records=len(old), rejected=len(refused), dry_run=dry_run)

    def close(self) -> None:
        """Nothing to release."""


def _memory_record(row: _MemoryRow) -> InboxRecord:
    return InboxRecord(
        id=row.id,
        provider=row.ref.provider,
        account=row.ref.account,
        event_key=row.ref.event_key,
        state=row.state,
        attempts=row.attempts,
        replays=row.replays,
        received_at=row.received_at,
        applied_at=row.applied_at,
        next_attempt_at=row.next_attempt_at,
        dead_at=row.dead_at,
        last_error=row.last_error,
        headers=headers_from_json(row.headers_json),
        body=row.body,
        event_data=json.loads(row.event_json),
    )
