"""Inbox stores: where postbacks are recorded durably and applied exactly once.

A store does three things atomically:

* ``record``: insert the verified event once per ``(provider, event_key)``, committed
  before the receiver may answer "ok";
* ``applying``: open a transaction holding the event's lock (waiting at most ``wait``
  seconds), so exactly one worker runs the handler, whose writes and the "applied" mark
  commit together or not at all. A failing handler's writes roll back to a savepoint
  and the failure is recorded in the same transaction, still under the lock.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import attrs

from payplane._eventcodec import event_from_dict
from payplane._models import OtherEvent, PostbackEvent
from payplane.exceptions import ConfigurationError

__all__ = [
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
]

SCHEMA_VERSION = 1
"""The version of the tables payplane creates; stored in ``payplane_schema``."""


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
        event_data: The parsed event as JSON-safe data.
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
        """The recorded event, rebuilt."""
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
        connection: The ``sqlite3.Connection`` or ``psycopg.Connection`` whose
            transaction will also mark the event applied; ``None`` for the in-memory
            store. Write through it to make your work and the "applied" mark atomic,
            which is what makes delivery exactly once.
    """

    connection: Any


class InboxBusyError(Exception):
    """Another worker holds the event's lock for longer than the receiver may wait."""


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
    (the apply context, the busy signal) are private and may change.
    """

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state.

        Raises ``InboxBusyError`` when the write cannot start within *wait* seconds.
        """
        ...

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Record a refused delivery for audit."""
        ...

    def applying(self, provider: str, event_key: str, *, wait: float) -> Any:  # noqa: ANN401
        """Return a context manager holding the event's lock inside a transaction.

        It yields an apply context, commits on normal exit and rolls back on an
        exception. Raises ``InboxBusyError`` when the lock is not had within *wait*
        seconds and ``LookupError`` when the event is not recorded.
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
        self._error = error


class MemoryStore:
    """In-process store for tests and experiments: nothing survives the process.

    Exactly once holds among the threads of one process.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], _MemoryRow] = {}
        self._rejected: list[RejectedPostback] = []
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        del wait  # the guard is only ever held briefly
        with self._guard:
            key = (provider, event_key)
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = _MemoryRow(provider, event_key, body, event_json)
                self._locks[key] = threading.Lock()
            return row.state

    def reject(self, provider: str, body: bytes, error: str) -> None:
        with self._guard:
            self._rejected.append(
                RejectedPostback(
                    provider=provider,
                    received_at=_now(),
                    error=error,
                    body=body[:REJECTED_BODY_LIMIT],
                )
            )

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_MemoryApply]:
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
        row = self._rows.get((provider, event_key))
        return None if row is None else _memory_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        with self._guard:
            rows = list(self._rows.values())
        rows = [
            r
            for r in reversed(rows)
            if (state is None or r.state is state) and (provider is None or r.provider == provider)
        ]
        return [_memory_record(r) for r in rows[:limit]]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        with self._guard:
            return list(reversed(self._rejected))[:limit]

    def close(self) -> None:
        """Nothing to release."""


def _memory_record(row: _MemoryRow) -> InboxRecord:
    import json  # noqa: PLC0415

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
    import json  # noqa: PLC0415

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
            (error, *self._key),
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

    Connections per thread and process, queries written with ``?`` placeholders, and
    the read side.
    """

    placeholder = "?"

    def __init__(self) -> None:
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def _connect(self) -> Any:  # noqa: ANN401 - a DB-API connection
        raise NotImplementedError

    def _usable(self, conn: Any) -> bool:  # noqa: ANN401, ARG002
        return True

    def _conn(self) -> Any:  # noqa: ANN401
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid() or not self._usable(conn):
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def sql(self, statement: str) -> str:
        """Return *statement* with this database's placeholders."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def time(self, value: datetime) -> object:
        """Return *value* as this database stores a time."""
        return value.isoformat()

    def _execute(self, statement: str, params: tuple[object, ...] = ()) -> Any:  # noqa: ANN401
        return self._conn().execute(self.sql(statement), params)

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Record a refused delivery for audit (at most 64 KiB of its body)."""
        self._execute(
            "INSERT INTO payplane_rejected (provider, received_at, error, body)"
            " VALUES (?, ?, ?, ?)",
            (provider, self.time(_now()), error, body[:REJECTED_BODY_LIMIT]),
        )

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        row = self._execute(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
            " WHERE provider = ? AND event_key = ?",
            (provider, event_key),
        ).fetchone()
        return None if row is None else sql_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        conditions, params = ["TRUE"], []
        if state is not None:
            conditions.append("state = ?")
            params.append(state.value)
        if provider is not None:
            conditions.append("provider = ?")
            params.append(provider)
        rows = self._execute(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - placeholders only
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [sql_record(row) for row in rows]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        rows = self._execute(
            "SELECT provider, received_at, error, body FROM payplane_rejected"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            RejectedPostback(provider=p, received_at=_as_time(t), error=e, body=bytes(b))
            for p, t, e, b in rows
        ]

    def close(self) -> None:
        """Close every connection this store opened in this process (at shutdown)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


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
"""


class SQLiteStore(_SqlStore):
    """The embedded default: one SQLite file, safe across threads and processes.

    WAL journal, ``synchronous=FULL`` (a recorded event survives power loss), one
    connection per thread and process. Applying takes SQLite's write lock
    (``BEGIN IMMEDIATE``), so handlers run one at a time per database file.

    Args:
        path: The database file; created with its tables when missing.
        busy_timeout: Seconds a write waits for the lock before giving up.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SQLITE_SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
            if row[0] is None:
                conn.execute("INSERT INTO payplane_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                msg = (
                    f"{self.path} holds inbox schema version {row[0]}; this payplane "
                    f"knows version {SCHEMA_VERSION}: upgrade payplane"
                )
                raise ConfigurationError(msg, field="path")  # noqa: TRY301 - rolls back below
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        conn = self._conn()
        select = "SELECT state FROM payplane_postbacks WHERE provider = ? AND event_key = ?"
        # WAL readers do not wait for the writer: a repeat needs no lock at all.
        row = conn.execute(select, (provider, event_key)).fetchone()
        if row is not None:
            return RecordState(row[0])
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            conn.execute(
                "INSERT INTO payplane_postbacks"
                " (provider, event_key, state, received_at, body, event)"
                " VALUES (?, ?, 'received', ?, ?, ?) ON CONFLICT (provider, event_key) DO NOTHING",
                (provider, event_key, self.time(_now()), body, event_json),
            )
        except sqlite3.OperationalError as exc:
            raise InboxBusyError(str(exc)) from exc
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        return RecordState(conn.execute(select, (provider, event_key)).fetchone()[0])

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_SqlApply]:
        conn = self._conn()
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise InboxBusyError(str(exc)) from exc
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        try:
            row = conn.execute(
                "SELECT state FROM payplane_postbacks WHERE provider = ? AND event_key = ?",
                (provider, event_key),
            ).fetchone()
            if row is None:
                raise LookupError((provider, event_key))  # noqa: TRY301 - rolls back below
            yield _SqlApply(
                self, conn, provider=provider, event_key=event_key, state=RecordState(row[0])
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
