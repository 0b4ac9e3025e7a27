"""Inbox stores: where postbacks are recorded durably and applied exactly once.

A store does three things atomically:

* ``record``: insert the verified event once per ``(provider, event_key)``, committed
  before the receiver may answer "ok";
* ``applying``: open a transaction holding the event's lock (waiting at most ``wait``
  seconds), so exactly one worker runs the handler, whose writes and the "applied" mark
  commit together or not at all. A failing handler's writes roll back to a savepoint
  and the failure is recorded in the same transaction, still under the lock;
* ``reject``: keep a refused delivery for audit, pruning the oldest beyond the store's
  bounds in the same transaction.

A connection that dies (a database restart, a failover, a connection closed under the
store) is replaced: an idempotent step (recording, reading, keeping a rejected delivery,
opening an apply transaction) is tried once more on a fresh connection; past that the
store raises :class:`StoreUnavailableError`, which the inbox answers with the provider's
"send again".
"""

from __future__ import annotations

import collections
import contextlib
import enum
import json
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from payplane._eventcodec import event_from_dict
from payplane._models import OtherEvent, PostbackEvent
from payplane.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_REJECTED_LIMIT",
    "DEFAULT_REJECTED_MAX_AGE",
    "SCHEMA_VERSION",
    "ApplyContext",
    "InboxBusyError",
    "InboxRecord",
    "InboxTransaction",
    "MemoryStore",
    "RecordState",
    "RejectedPostback",
    "SQLiteStore",
    "Store",
    "StoreUnavailableError",
    "keepable",
    "storable_text",
]

SCHEMA_VERSION = 1
"""The version of the tables payplane creates; stored in ``payplane_schema``."""

DEFAULT_REJECTED_LIMIT = 10_000
"""How many refused deliveries a store keeps by default (the newest)."""

DEFAULT_REJECTED_MAX_AGE = timedelta(days=30)
"""How long a store keeps a refused delivery by default."""

_T = TypeVar("_T")


class RecordState(enum.Enum):
    """Where a recorded postback stands."""

    RECEIVED = "received"
    """Recorded; the handler has not completed yet."""
    APPLIED = "applied"
    """The handler ran and committed; repeats are acknowledged without running it."""
    FAILED = "failed"
    """The handler raised; the next delivery or an explicit retry applies it."""


@attrs.frozen(kw_only=True)
class InboxRecord:
    """A postback as the inbox recorded it.

    Attributes:
        provider: Provider id.
        event_key: The provider's event key (the deduplication key).
        state: Where it stands.
        attempts: How many times the handler ran to its end or failed.
        replays: How many times an operator replayed it after it was applied.
        received_at: When it was first recorded (UTC).
        applied_at: When the handler's work committed (UTC), if it did.
        last_error: The last handler error, secrets scrubbed.
        body: The raw body as received, with secret values replaced by ``***``.
        event_data: The parsed event as JSON-safe data, secret values replaced by ``***``
            (in every free-text member: raw members, customer id, references).
    """

    provider: str
    event_key: str
    state: RecordState
    attempts: int
    replays: int
    received_at: datetime
    applied_at: datetime | None
    last_error: str | None
    body: bytes = attrs.field(repr=False)
    event_data: dict[str, Any] = attrs.field(repr=False)

    @property
    def event(self) -> PostbackEvent | OtherEvent:
        """The recorded event, rebuilt (with secret values replaced by ``***``)."""
        return event_from_dict(self.event_data)


@attrs.frozen(kw_only=True)
class RejectedPostback:
    """A delivery refused before it became an event (bad signature, malformed body).

    Attributes:
        provider: The provider id in the URL.
        received_at: When it arrived (UTC).
        error: Why it was refused.
        body: The body (at most 64 KiB of it), secret values replaced by ``***``.
    """

    provider: str
    received_at: datetime
    error: str
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class InboxTransaction:
    """What a handler gets beside the event: the store's open transaction.

    Attributes:
        connection: The ``sqlite3.Connection`` or ``psycopg.Connection`` (from the
            store's pool) whose transaction will also mark the event applied; ``None``
            for the in-memory store. Write through it to make your work and the
            "applied" mark atomic, which is what makes delivery exactly once. Do not
            commit, roll back or close it.
    """

    connection: Any


class InboxBusyError(Exception):
    """Another worker holds the event's lock for longer than the receiver may wait."""


class StoreUnavailableError(ConnectionError):
    """The database cannot be reached, or the connection was lost mid-way.

    A :class:`ConnectionError`, which is how it reaches callers of the read side
    (:meth:`Inbox.get <payplane.Inbox.get>`, ``records``, ``rejected``, ``retry``,
    ``replay``); a delivery gets the provider's "send again" instead.

    Raised after the store's one retry on a fresh connection also failed, or when the
    loss happened where a retry is not the store's to decide (inside an apply
    transaction, after the handler ran).

    Attributes:
        commit_sent: The connection was lost while COMMIT was in flight: whether the
            transaction committed is unknown (the event's recorded state tells).
    """

    def __init__(self, message: str, *, commit_sent: bool = False) -> None:
        self.commit_sent = commit_sent
        super().__init__(message)


class ApplyContext(Protocol):
    """An open apply transaction, from :meth:`Store.applying`."""

    state: RecordState
    transaction: InboxTransaction

    def savepoint(self) -> Any:  # noqa: ANN401 - a context manager
        """Return a context manager that rolls the handler's writes back if it raises."""

    def mark_applied(self) -> None:
        """Mark the event applied, in the same transaction."""

    def mark_replayed(self) -> None:
        """Count an operator replay, in the same transaction."""

    def mark_failed(self, error: str) -> None:
        """Record a handler failure, in the same transaction."""


class Store(Protocol):
    """The storage an :class:`~payplane.Inbox` runs on (for type annotations).

    payplane's stores are the supported implementations; the protocol's internals
    (the apply context, the busy and unavailable signals) are private and may change.
    :class:`~payplane.Inbox` checks that its store has every method below.
    """

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state.

        *event_json* is ASCII text (the inbox escapes every other character), so any
        text column keeps it exactly. Raises ``InboxBusyError`` when the write cannot
        start within *wait* seconds, ``StoreUnavailableError`` when the database cannot
        be reached.
        """
        ...

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Record a refused delivery for audit, pruning beyond the store's bounds."""
        ...

    def applying(self, provider: str, event_key: str, *, wait: float) -> Any:  # noqa: ANN401
        """Return a context manager holding the event's lock inside a transaction.

        It yields an apply context, commits on normal exit and rolls back on an
        exception. Raises ``InboxBusyError`` when the lock is not had within *wait*
        seconds, ``LookupError`` when the event is not recorded, and
        ``StoreUnavailableError`` when the connection is lost (then nothing committed,
        unless ``commit_sent`` says the outcome is unknown).
        """
        ...

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        ...

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        ...

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


REJECTED_BODY_LIMIT = 64 * 1024


def storable_text(text: str) -> str:
    r"""Return *text* as every store can keep it.

    PostgreSQL's ``text`` cannot hold NUL and no UTF-8 column can hold a lone surrogate
    (``"\ud800"``, which JSON can carry): those are written as backslash escapes. Meant
    for diagnostics (errors), not for data that must round-trip.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def keepable(text: str) -> bool:
    """Whether every store can keep *text* exactly (no NUL, no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _retention(limit: object, max_age: object) -> tuple[int | None, timedelta | None]:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        msg = (
            "rejected_limit must be a positive int (how many refused deliveries to keep) "
            f"or None (no limit), not {limit!r}"
        )
        raise ConfigurationError(msg, field="rejected_limit")
    if max_age is not None and (not isinstance(max_age, timedelta) or max_age <= timedelta(0)):
        msg = (
            "rejected_max_age must be a positive datetime.timedelta (how long to keep a "
            f"refused delivery) or None (no limit), not {max_age!r}"
        )
        raise ConfigurationError(msg, field="rejected_max_age")
    return limit, max_age


def _positive_seconds(value: object, field: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = f"{field} must be a positive, finite number of seconds, not {value!r}"
        raise ConfigurationError(msg, field=field)
    return float(value)


# -- memory --------------------------------------------------------------------------


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


# -- SQL (shared by SQLite and PostgreSQL) ---------------------------------------------

_COLUMNS = (
    "provider, event_key, state, attempts, replays, received_at, applied_at, last_error,"
    " body, event"
)


def sql_record(row: tuple[Any, ...]) -> InboxRecord:
    """Build an :class:`InboxRecord` from a row of ``_COLUMNS``."""
    provider, key, state, attempts, replays, received, applied, error, body, event = row
    return InboxRecord(
        provider=provider,
        event_key=key,
        state=RecordState(state),
        attempts=attempts,
        replays=replays,
        received_at=_as_time(received),
        applied_at=None if applied is None else _as_time(applied),
        last_error=error,
        body=bytes(body),
        event_data=json.loads(event),
    )


def _as_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class _SqlApply:
    """An apply transaction of a :class:`_SqlStore`, on the connection that holds the lock."""

    def __init__(
        self,
        store: _SqlStore,
        connection: Any,  # noqa: ANN401 - sqlite3 or psycopg connection
        *,
        provider: str,
        event_key: str,
        state: RecordState,
    ) -> None:
        self._store = store
        self._connection = connection
        self._key = (provider, event_key)
        self.state = state
        self.transaction = InboxTransaction(connection)
        self._savepoints = 0

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        self._connection.execute(self._store.sql(sql), params)

    def mark_applied(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET state = 'applied', applied_at = ?,"
            " last_error = NULL, attempts = attempts + 1 WHERE provider = ? AND event_key = ?",
            (self._store.time(_now()), *self._key),
        )

    def mark_replayed(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET replays = replays + 1"
            " WHERE provider = ? AND event_key = ?",
            self._key,
        )

    def mark_failed(self, error: str) -> None:
        # A failed replay leaves an applied event applied; it only counts the attempt.
        self._execute(
            "UPDATE payplane_postbacks SET attempts = attempts + 1,"
            " state = CASE WHEN state = 'applied' THEN state ELSE 'failed' END,"
            " last_error = CASE WHEN state = 'applied' THEN last_error ELSE ? END"
            " WHERE provider = ? AND event_key = ?",
            (storable_text(error), *self._key),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._savepoints += 1
        name = f"payplane_handler_{self._savepoints}"
        self._connection.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._connection.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._connection.execute(f"RELEASE SAVEPOINT {name}")


class _SqlStore:
    """What the SQLite and PostgreSQL stores share.

    Queries written with ``?`` placeholders, the one-retry rule for a lost connection,
    the apply transaction's shape, the read side and the rejected deliveries' bounds.
    Each database supplies how a connection is acquired, released and judged lost, and
    how an apply transaction begins.
    """

    placeholder = "?"
    rejected_limit: int | None
    rejected_max_age: timedelta | None

    def __init__(self, *, rejected_limit: int | None, rejected_max_age: timedelta | None) -> None:
        self.rejected_limit, self.rejected_max_age = _retention(rejected_limit, rejected_max_age)

    # -- what each database supplies -----------------------------------------------------

    def _acquire(self) -> tuple[Any, Any]:
        """Return a usable connection and what :meth:`_release` needs to give it back.

        Raises:
            StoreUnavailableError: the database cannot be reached.
        """
        raise NotImplementedError

    def _release(self, conn: Any, token: Any, *, lost: bool) -> None:  # noqa: ANN401
        """Give *conn* back; a *lost* one is discarded."""
        raise NotImplementedError

    def _lost(self, exc: BaseException, conn: Any) -> bool:  # noqa: ANN401
        """Whether *exc*, raised while using *conn*, means the connection is gone."""
        raise NotImplementedError

    def _recover(self) -> None:
        """Prepare a retry after a lost connection (drop other dead connections)."""

    def _begin_locked(
        self,
        conn: Any,  # noqa: ANN401
        provider: str,
        event_key: str,
        wait: float,
    ) -> RecordState:
        """Begin a transaction on *conn* holding the event's lock; return its state."""
        raise NotImplementedError

    def _reject_on(self, conn: Any, provider: str, body: bytes, error: str) -> None:  # noqa: ANN401
        """Insert a refused delivery and prune, in one transaction."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Return *statement* with this database's placeholders."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def time(self, value: datetime) -> object:
        """Return *value* as this database stores a time."""
        return value.isoformat(timespec="microseconds")

    def _twice(self, work: Callable[[Any], _T], *, keep: bool) -> tuple[Any, Any, _T]:
        """Run *work* on a connection; once more on a fresh one if the connection dies.

        Only for work that is safe to repeat. With *keep*, the connection is returned
        with the result, still in the transaction *work* opened; otherwise it is
        released. No connection to be had at all (the database is down) is not retried:
        a retry would only wait as long again.
        """
        for attempt in (1, 2):
            conn, token = self._acquire()
            try:
                result = work(conn)
            except Exception as exc:
                lost = self._lost(exc, conn)
                if keep and not lost:
                    self._rollback_quietly(conn)
                self._release(conn, token, lost=lost)
                if not lost:
                    raise
                if attempt == 2:  # noqa: PLR2004 - the one retry
                    if isinstance(exc, StoreUnavailableError):
                        raise
                    msg = f"database connection lost: {exc}"
                    raise StoreUnavailableError(msg) from exc
                self._recover()
                continue
            if not keep:
                self._release(conn, token, lost=False)
            return conn, token, result
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _run(self, work: Callable[[Any], _T]) -> _T:
        """Run the idempotent *work* on a connection; once more on a fresh one if it dies."""
        return self._twice(work, keep=False)[2]

    def _rollback_quietly(self, conn: Any) -> None:  # noqa: ANN401
        # Nothing to roll back, or the connection is gone: either way, nothing to do.
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")

    def _begin_apply(
        self, provider: str, event_key: str, wait: float
    ) -> tuple[Any, Any, RecordState]:
        """Acquire a connection and lock the event, once more on a fresh one if it dies."""
        return self._twice(
            lambda conn: self._begin_locked(conn, provider, event_key, wait), keep=True
        )

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_SqlApply]:
        """Lock the event inside a transaction (see :class:`~payplane.Store`).

        Opening the transaction is retried once on a fresh connection if the connection
        dies; a loss after that raises :class:`StoreUnavailableError` (``commit_sent``
        when it happened during COMMIT) and leaves the retry to the caller, who knows
        whether running the handler again is safe.
        """
        conn, token, state = self._begin_apply(provider, event_key, wait)
        context = _SqlApply(self, conn, provider=provider, event_key=event_key, state=state)
        try:
            yield context
        except BaseException as exc:
            lost = self._lost(exc, conn)
            if not lost:
                self._rollback_quietly(conn)
            self._release(conn, token, lost=lost)
            if lost and isinstance(exc, Exception):
                msg = f"database connection lost inside the apply transaction: {exc}"
                raise StoreUnavailableError(msg) from exc
            raise
        try:
            conn.execute("COMMIT")
        except Exception as exc:
            lost = self._lost(exc, conn)
            if not lost:
                self._rollback_quietly(conn)
            self._release(conn, token, lost=lost)
            if lost:
                msg = f"database connection lost during COMMIT (outcome unknown): {exc}"
                raise StoreUnavailableError(msg, commit_sent=True) from exc
            raise
        self._release(conn, token, lost=False)

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Keep a refused delivery (at most 64 KiB of its body); drop beyond the bounds.

        In the same transaction, deliveries older than ``rejected_max_age`` and all but
        the newest ``rejected_limit`` are deleted.
        """
        body, error = body[:REJECTED_BODY_LIMIT], storable_text(error)
        self._run(lambda conn: self._reject_on(conn, provider, body, error))

    def _prune_condition(self) -> tuple[str, tuple[object, ...]]:
        """The rejected rows to delete, given the id just inserted (``{new}``)."""
        conditions: list[str] = []
        params: list[object] = []
        if self.rejected_limit is not None:
            conditions.append("id <= {new} - ?")
            params.append(self.rejected_limit)
        if self.rejected_max_age is not None:
            conditions.append("received_at < ?")
            params.append(self.time(_now() - self.rejected_max_age))
        return " OR ".join(conditions), tuple(params)

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        if not (keepable(provider) and keepable(event_key)):
            return None  # no such key can have been recorded
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
            " WHERE provider = ? AND event_key = ?"
        )
        row = self._run(lambda conn: conn.execute(statement, (provider, event_key)).fetchone())
        return None if row is None else sql_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        if provider is not None and not keepable(provider):
            return []  # no such provider can have been recorded
        conditions, params = ["TRUE"], []
        if state is not None:
            conditions.append("state = ?")
            params.append(state.value)
        if provider is not None:
            conditions.append("provider = ?")
            params.append(provider)
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - placeholders only
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (*params, limit)).fetchall())
        return [sql_record(row) for row in rows]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        statement = self.sql(
            "SELECT provider, received_at, error, body FROM payplane_rejected"
            " ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (limit,)).fetchall())
        return [
            RejectedPostback(provider=p, received_at=_as_time(t), error=e, body=bytes(b))
            for p, t, e, b in rows
        ]


# -- SQLite ----------------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payplane_postbacks (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    replays INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    applied_at TEXT,
    last_error TEXT,
    body BLOB NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (provider, event_key)
);
CREATE TABLE IF NOT EXISTS payplane_rejected (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    received_at TEXT NOT NULL,
    error TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS payplane_rejected_received_at ON payplane_rejected (received_at);
"""

TABLES = ("payplane_schema", "payplane_postbacks", "payplane_rejected")
"""The tables of a payplane inbox."""

# SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY)
    return isinstance(exc, sqlite3.OperationalError) and (code & 0xFF) in _SQLITE_BUSY


def _newer_schema(version: int | None, where: str, field: str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        msg = (
            f"{where} holds inbox schema version {version}; this payplane "
            f"knows version {SCHEMA_VERSION}: upgrade payplane"
        )
        raise ConfigurationError(msg, field=field)


class SQLiteStore(_SqlStore):
    """The embedded default: one SQLite file, safe across threads and processes.

    WAL journal, ``synchronous=FULL`` (a recorded event survives power loss), one
    connection per thread and process. Applying takes SQLite's write lock
    (``BEGIN IMMEDIATE``), so handlers run one at a time per database file.

    A connection found closed (by :meth:`close` in another thread) is replaced, and an
    idempotent step that fails on a closed or broken connection is tried once more on a
    fresh one. Once the store is built it never creates the file again: if the file is
    removed or replaced under it, deliveries are answered "send again" (nothing is
    acknowledged into a file nobody will read) until it is back.

    Args:
        path: The database file; created with its tables when missing (unless
            *create* is false).
        busy_timeout: Seconds a write waits for the lock before giving up.
        create: Whether to create the file and payplane's tables. With ``False`` the
            store never writes schema: a file without payplane's tables (or no file)
            raises :class:`~payplane.exceptions.ConfigurationError`
            ``"no payplane inbox in <path>"``, checked on a read-only connection so a
            foreign file is never written.
        rejected_limit: How many refused deliveries to keep, the newest (``None``: all).
        rejected_max_age: How long to keep a refused delivery (``None``: forever).

    Raises:
        ConfigurationError: the file cannot be opened, is not an SQLite database, holds
            a newer schema, or (``create=False``) holds no payplane inbox.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        create: bool = True,
        rejected_limit: int | None = DEFAULT_REJECTED_LIMIT,
        rejected_max_age: timedelta | None = DEFAULT_REJECTED_MAX_AGE,
    ) -> None:
        super().__init__(rejected_limit=rejected_limit, rejected_max_age=rejected_max_age)
        self.path = Path(path)
        self.busy_timeout = _positive_seconds(busy_timeout, "busy_timeout")
        self.create = create
        self._uri = self.path.absolute().as_uri()
        self._local = threading.local()
        # id -> (pid, connection): close() closes only this process's connections.
        self._opened: dict[int, tuple[int, sqlite3.Connection]] = {}
        self._opened_lock = threading.Lock()
        if create:
            self._migrate()
        else:
            self._check_inbox()

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"

    # -- connections ------------------------------------------------------------------------

    def _open(self, mode: str) -> sqlite3.Connection:
        return sqlite3.connect(
            f"{self._uri}?mode={mode}", uri=True, isolation_level=None, check_same_thread=False
        )

    def _identity(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a removed file is never silently recreated empty.
        conn = self._open("rw")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _usable(self, conn: sqlite3.Connection) -> bool:
        try:
            conn.in_transaction  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return False
        identity: tuple[int, int] | None = self._local.identity
        return self._identity() == identity

    def _acquire(self) -> tuple[sqlite3.Connection, None]:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and (local.pid != os.getpid() or not self._usable(conn)):
            if local.pid == os.getpid():
                self._discard(conn)
            conn = None  # a connection inherited across fork is the parent's: left alone
        if conn is None:
            try:
                conn = self._connect()
            except sqlite3.Error as exc:
                msg = f"cannot open the inbox database {self.path}: {exc}"
                raise StoreUnavailableError(msg) from exc
            local.conn, local.pid, local.identity = conn, os.getpid(), self._identity()
            with self._opened_lock:
                self._opened[id(conn)] = (os.getpid(), conn)
        return conn, None

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._opened_lock:
            self._opened.pop(id(conn), None)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with contextlib.suppress(sqlite3.Error):  # closing a broken connection
            conn.close()

    def _release(self, conn: sqlite3.Connection, token: None, *, lost: bool) -> None:
        del token
        if lost:
            self._discard(conn)

    def _lost(self, exc: BaseException, conn: sqlite3.Connection) -> bool:
        if isinstance(exc, sqlite3.Error) and not _busy(exc):
            return True
        try:
            conn.in_transaction  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return True
        return False

    def close(self) -> None:
        """Close every connection this store opened in this process.

        A later call opens new ones: closing under a delivery in another thread costs
        that delivery a retry on a fresh connection, not an error.
        """
        pid = os.getpid()
        with self._opened_lock:
            opened, self._opened = list(self._opened.values()), {}
        for owner, conn in opened:
            if owner != pid:
                continue  # the parent's, inherited across fork: never touched
            with contextlib.suppress(sqlite3.Error):  # already broken
                conn.close()

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            conn = self._open("rwc")
        except sqlite3.Error as exc:
            msg = f"cannot open or create the inbox database {self.path}: {exc}"
            raise ConfigurationError(msg, field="path") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SQLITE_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
                _newer_schema(row[0], str(self.path), "path")
                if row[0] is None:
                    conn.execute(
                        "INSERT INTO payplane_schema (version) VALUES (?)", (SCHEMA_VERSION,)
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            msg = f"cannot create payplane's inbox tables in {self.path}: {exc}"
            raise ConfigurationError(msg, field="path") from exc
        finally:
            conn.close()

    def _check_inbox(self) -> None:
        """Check, read-only, that the file holds a payplane inbox (``create=False``).

        Nothing is written, not even beside the file: a WAL database without its ``-wal``
        file (nobody has it open) is read as immutable, since a read-only connection
        would leave ``-wal`` and ``-shm`` files behind; with a ``-wal`` file present (the
        database is in use) it is read normally, so tables still in the WAL are seen.
        """
        missing = f"no payplane inbox in {self.path}"
        in_use = Path(f"{self.path}-wal").exists()
        try:
            conn = self._open("ro" if in_use else "ro&immutable=1")
        except sqlite3.Error as exc:
            msg = f"{missing}: the file cannot be opened ({exc})"
            raise ConfigurationError(msg, field="path") from exc
        try:
            names = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall()
            }
            if not set(TABLES) <= names:
                raise ConfigurationError(missing, field="path")
            row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
        except sqlite3.DatabaseError as exc:
            msg = f"{missing}: {exc}"
            raise ConfigurationError(msg, field="path") from exc
        finally:
            conn.close()
        if row[0] is None:
            raise ConfigurationError(missing, field="path")
        _newer_schema(row[0], str(self.path), "path")

    # -- the steps ----------------------------------------------------------------------------

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state."""
        select = "SELECT state FROM payplane_postbacks WHERE provider = ? AND event_key = ?"

        def work(conn: sqlite3.Connection) -> RecordState:
            # WAL readers do not wait for the writer: a repeat needs no lock at all.
            row = conn.execute(select, (provider, event_key)).fetchone()
            if row is not None:
                return RecordState(row[0])
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                conn.execute(
                    "INSERT INTO payplane_postbacks"
                    " (provider, event_key, state, received_at, body, event)"
                    " VALUES (?, ?, 'received', ?, ?, ?)"
                    " ON CONFLICT (provider, event_key) DO NOTHING",
                    (provider, event_key, self.time(_now()), body, event_json),
                )
            except sqlite3.OperationalError as exc:
                if _busy(exc):
                    raise InboxBusyError(str(exc)) from exc
                raise
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            return RecordState(conn.execute(select, (provider, event_key)).fetchone()[0])

        return self._run(work)

    def _reject_on(self, conn: sqlite3.Connection, provider: str, body: bytes, error: str) -> None:
        condition, params = self._prune_condition()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise InboxBusyError(str(exc)) from exc
            raise
        try:
            conn.execute(
                "INSERT INTO payplane_rejected (provider, received_at, error, body)"
                " VALUES (?, ?, ?, ?)",
                (provider, self.time(_now()), error, body),
            )
            if condition:
                conn.execute(
                    "DELETE FROM payplane_rejected WHERE "  # noqa: S608 - placeholders only
                    + condition.format(new="last_insert_rowid()"),
                    params,
                )
            conn.execute("COMMIT")
        except BaseException:
            self._rollback_quietly(conn)
            raise

    def _begin_locked(
        self, conn: sqlite3.Connection, provider: str, event_key: str, wait: float
    ) -> RecordState:
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise InboxBusyError(str(exc)) from exc
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        row = conn.execute(
            "SELECT state FROM payplane_postbacks WHERE provider = ? AND event_key = ?",
            (provider, event_key),
        ).fetchone()
        if row is None:
            raise LookupError((provider, event_key))
        return RecordState(row[0])
