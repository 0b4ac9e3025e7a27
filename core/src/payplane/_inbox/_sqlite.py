"""The SQLite store: the embedded default, one file shared by threads and processes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from payplane._inbox._sql import (
    TABLES,
    WAITING,
    _newer_schema,
    _older_schema,
    _SqlApply,
    _SqlStore,
)
from payplane._inbox._store import (
    DEFAULT_REJECTED_LIMIT,
    DEFAULT_REJECTED_MAX_AGE,
    SCHEMA_VERSION,
    EventRef,
    InboxBusyError,
    NewRecord,
    RecordState,
    StoreUnavailableError,
    _now,
    _positive_seconds,
)
from payplane.exceptions import ConfigurationError

__all__ = ["POSTBACKS_TABLE", "SQLiteStore"]

POSTBACKS_TABLE = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    event_key TEXT NOT NULL,
    kind TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    replays INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    applied_at TEXT,
    next_attempt_at TEXT,
    dead_at TEXT,
    last_error TEXT,
    headers TEXT NOT NULL DEFAULT '{{}}',
    body BLOB NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (provider, account, event_key)
)"""
"""The version-2 events table (``{name}`` to fill); its indexes are ``_POSTBACKS_INDEXES``."""

_POSTBACKS_INDEXES = (
    # Deferred mode's queue, in claiming order; only waiting events are in it.
    (
        "CREATE INDEX IF NOT EXISTS payplane_postbacks_due ON payplane_postbacks"
        f" (next_attempt_at, id) WHERE {WAITING}"
    ),
    # Pruning (applied and ignored events by age) and listing by state.
    (
        "CREATE INDEX IF NOT EXISTS payplane_postbacks_settled"
        " ON payplane_postbacks (state, applied_at)"
    ),
)

_REJECTED_TABLE = """
CREATE TABLE IF NOT EXISTS payplane_rejected (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    error TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    body BLOB NOT NULL
)"""

_CREATE = (
    POSTBACKS_TABLE.format(name="payplane_postbacks"),
    *_POSTBACKS_INDEXES,
    _REJECTED_TABLE,
    "CREATE INDEX IF NOT EXISTS payplane_rejected_received_at ON payplane_rejected (received_at)",
)

# Version 1 recorded a verified non-payment event and left it received: it is ignored.
_SETTLE_OTHER = (
    "UPDATE payplane_postbacks SET state = 'ignored', applied_at = received_at"
    " WHERE kind = 'other' AND state IN ('received', 'failed')"
)

# Version 1 to 2: accounts, headers, deferred mode's columns, the ignored and dead states.
# The unique key gains the account, which SQLite can only change by rebuilding the table
# (in the migration's one transaction).
_MIGRATE_1_TO_2 = (
    POSTBACKS_TABLE.format(name="payplane_postbacks_v2"),
    (
        "INSERT INTO payplane_postbacks_v2 (id, provider, account, event_key, kind, state,"
        " attempts, replays, received_at, applied_at, last_error, headers, body, event)"
        " SELECT id, provider, '', event_key, json_extract(event, '$.kind'), state, attempts,"
        " replays, received_at, applied_at, last_error, '{}', body, event FROM payplane_postbacks"
    ),
    "DROP TABLE payplane_postbacks",
    "ALTER TABLE payplane_postbacks_v2 RENAME TO payplane_postbacks",
    *_POSTBACKS_INDEXES,
    "ALTER TABLE payplane_rejected ADD COLUMN account TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE payplane_rejected ADD COLUMN headers TEXT NOT NULL DEFAULT '{}'",
    _SETTLE_OTHER,
)

MIGRATIONS = {1: _MIGRATE_1_TO_2}
"""Statements that bring a database from version N to N + 1, run in one transaction."""

_SELECT_HELD = (
    "SELECT id, state, attempts, event FROM payplane_postbacks"
    " WHERE provider = ? AND account = ? AND event_key = ?"
)
_SELECT_STATE = (
    "SELECT state FROM payplane_postbacks WHERE provider = ? AND account = ? AND event_key = ?"
)
_INSERT = (
    "INSERT INTO payplane_postbacks (provider, account, event_key, kind, state, attempts,"
    " received_at, applied_at, next_attempt_at, headers, body, event)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (provider, account, event_key) DO NOTHING RETURNING id"
)
_CLAIM = (
    "SELECT id, provider, account, event_key, state, attempts, event"  # noqa: S608 - constants
    f" FROM payplane_postbacks WHERE {WAITING} AND next_attempt_at <= ?"
    " ORDER BY next_attempt_at, id LIMIT 1"
)


def insert_params(new: NewRecord, state: RecordState, now: object) -> tuple[object, ...]:
    """The parameters of ``_INSERT`` for *new* in *state*, recorded at *now* (as stored)."""
    return (
        *new.ref,
        new.kind,
        state.value,
        1 if state is RecordState.APPLIED else 0,
        now,
        None if state is RecordState.RECEIVED else now,
        now if state is RecordState.RECEIVED else None,
        new.headers_json,
        new.body,
        new.event_json,
    )


def _held(
    store: SQLiteStore,
    conn: sqlite3.Connection,
    ref: EventRef,
    row: tuple[int, str, int, str] | None,
    release: Callable[[], None],
) -> _SqlApply:
    if row is None:
        raise LookupError(ref)
    row_id, state, attempts, event = row
    return _SqlApply(store, conn, ref, row_id, RecordState(state), attempts, event, release=release)


# SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY)
    return isinstance(exc, sqlite3.OperationalError) and (code & 0xFF) in _SQLITE_BUSY


class SQLiteStore(_SqlStore):
    """The embedded default: one SQLite file, safe across threads and processes.

    WAL journal, ``synchronous=FULL`` (a recorded event survives power loss), one
    connection per thread and process. Applying takes SQLite's write lock
    (``BEGIN IMMEDIATE``), so handlers run one at a time per database file; the writers
    of one process first queue on a lock of the store's, which wakes them in turn, rather
    than polling SQLite's lock through its sleeping busy handler. A repeat of an applied
    event is answered from a read that waits for no writer.

    Opening a file of an older schema version migrates it in place, in one transaction
    (the events table is rebuilt when its key changes).

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
        self._writer, self._writer_pid = threading.Lock(), os.getpid()
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
            local.busy_ms = int(self.busy_timeout * 1000)  # as _connect set it
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
                self._migrate_on(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            msg = f"cannot create or migrate payplane's inbox tables in {self.path}: {exc}"
            raise ConfigurationError(msg, field="path") from exc
        finally:
            conn.close()

    def _migrate_on(self, conn: sqlite3.Connection) -> None:
        """Create the tables, or bring them to this version, one step per version."""
        conn.execute("CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL)")
        version = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()[0]
        _newer_schema(version, str(self.path), "path")
        if version is None:
            for statement in _CREATE:
                conn.execute(statement)
            conn.execute("INSERT INTO payplane_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            return
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
            conn.execute("UPDATE payplane_schema SET version = ?", (version,))

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
        _older_schema(row[0], str(self.path), "path")

    # -- the write lock -------------------------------------------------------------------------

    def _writer_lock(self) -> threading.Lock:
        # A lock inherited across fork may be held by a thread that does not exist here.
        if self._writer_pid != os.getpid():
            self._writer, self._writer_pid = threading.Lock(), os.getpid()
        return self._writer

    def _lock(self, wait: float) -> Callable[[], None]:
        """Take this process's writer lock within *wait* seconds; return its release.

        Writers of one process queue on this lock, which wakes them as soon as it is
        free, instead of polling SQLite's lock through its sleeping busy handler; other
        processes still meet SQLite's own lock.
        """
        lock = self._writer_lock()
        if not lock.acquire(timeout=wait):
            msg = f"another thread held the inbox's write lock for over {wait:g} seconds"
            raise InboxBusyError(msg)
        return lock.release

    @contextlib.contextmanager
    def _writing(self, wait: float) -> Iterator[None]:
        release = self._lock(wait)
        try:
            yield
        finally:
            release()

    def _busy_wait(self, conn: sqlite3.Connection, seconds: float) -> None:
        """Make *conn*'s writes wait at most *seconds* for another process's lock.

        Set only when it changes: each step states the bound it needs, and a statement
        saved per step counts in the one-commit path.
        """
        ms = int(seconds * 1000)
        local = self._local
        if getattr(local, "busy_ms", None) != ms or getattr(local, "conn", None) is not conn:
            conn.execute(f"PRAGMA busy_timeout = {ms}")
            local.busy_ms = ms if getattr(local, "conn", None) is conn else None

    def _begin_immediate(self, conn: sqlite3.Connection, wait: float) -> None:
        self._busy_wait(conn, wait)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise InboxBusyError(str(exc)) from exc
            raise

    # -- the steps ----------------------------------------------------------------------------

    def _insert_params(self, new: NewRecord, state: RecordState) -> tuple[object, ...]:
        return insert_params(new, state, self.time(_now()))

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present, in one commit.

        A repeat needs no lock: WAL readers do not wait for the writer.
        """

        def work(conn: sqlite3.Connection) -> tuple[RecordState, bool]:
            row = conn.execute(_SELECT_STATE, new.ref).fetchone()
            if row is not None:
                return RecordState(row[0]), False
            with self._writing(wait):
                self._busy_wait(conn, wait)
                try:
                    inserted = conn.execute(_INSERT, self._insert_params(new, state)).fetchall()
                except sqlite3.OperationalError as exc:
                    if _busy(exc):
                        raise InboxBusyError(str(exc)) from exc
                    raise
            if inserted:
                return state, True
            return RecordState(conn.execute(_SELECT_STATE, new.ref).fetchone()[0]), False

        return self._run(work)

    def _begin_apply(
        self, conn: sqlite3.Connection, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SqlApply:
        if new is not None:
            # A repeat of a settled event is answered from a read: no lock, no transaction.
            row = conn.execute(_SELECT_HELD, ref).fetchone()
            if row is not None and RecordState(row[1]) in (
                RecordState.APPLIED,
                RecordState.IGNORED,
            ):
                return _SqlApply(
                    self, conn, ref, row[0], RecordState(row[1]), row[2], row[3], open_=False
                )
        release = self._lock(wait)
        try:
            self._begin_immediate(conn, wait)
            try:
                if new is not None:
                    inserted = conn.execute(
                        _INSERT, self._insert_params(new, RecordState.APPLIED)
                    ).fetchall()
                    if inserted:
                        return _SqlApply(
                            self,
                            conn,
                            ref,
                            inserted[0][0],
                            RecordState.RECEIVED,
                            1,
                            new.event_json,
                            fresh=True,
                            release=release,
                        )
                row = conn.execute(_SELECT_HELD, ref).fetchone()
                return _held(self, conn, ref, row, release)
            except BaseException:
                self._rollback_quietly(conn)
                raise
        except BaseException:
            release()
            raise

    def _begin_claim(self, conn: sqlite3.Connection, wait: float, lease: float) -> _SqlApply | None:
        del lease  # no server to enforce one: a hung handler holds the file's write lock
        release = self._lock(wait)
        try:
            self._begin_immediate(conn, wait)
            try:
                row = conn.execute(_CLAIM, (self.time(_now()),)).fetchone()
            except BaseException:
                self._rollback_quietly(conn)
                raise
            if row is None:
                conn.execute("ROLLBACK")
                release()
                return None
        except BaseException:
            release()
            raise
        row_id, provider, account, key, state, attempts, event = row
        return _SqlApply(
            self,
            conn,
            EventRef(provider, account, key),
            row_id,
            RecordState(state),
            attempts,
            event,
            release=release,
        )

    def _reject_on(  # noqa: PLR0917 - the columns of a refused delivery
        self,
        conn: sqlite3.Connection,
        provider: str,
        account: str,
        body: bytes,
        error: str,
        headers_json: str,
    ) -> None:
        condition, params = self._prune_condition()
        with self._writing(self.busy_timeout):
            self._begin_immediate(conn, self.busy_timeout)
            try:
                conn.execute(
                    "INSERT INTO payplane_rejected (provider, account, received_at, error,"
                    " headers, body) VALUES (?, ?, ?, ?, ?, ?)",
                    (provider, account, self.time(_now()), error, headers_json, body),
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

    def _requeue_on(self, conn: sqlite3.Connection, ref: EventRef) -> RecordState | None:
        with self._writing(self.busy_timeout):
            conn.execute(
                "UPDATE payplane_postbacks SET state = 'received', attempts = 0, dead_at = NULL,"
                " next_attempt_at = ? WHERE provider = ? AND account = ? AND event_key = ?"
                " AND state IN ('dead', 'failed')",
                (self.time(_now()), *ref),
            )
        row = conn.execute(_SELECT_STATE, ref).fetchone()
        return None if row is None else RecordState(row[0])

    def _prune_batch(
        self, conn: sqlite3.Connection, statement: str, params: tuple[object, ...]
    ) -> int:
        with self._writing(self.busy_timeout):
            self._begin_immediate(conn, self.busy_timeout)
            try:
                count: int = conn.execute(statement, params).rowcount
                conn.execute("COMMIT")
            except BaseException:
                self._rollback_quietly(conn)
                raise
        # Let the writers that queued meanwhile in: a lock's waiter is woken by the
        # release, but the releasing thread would otherwise take the lock again first.
        time.sleep(_PRUNE_PAUSE)
        return count


_PRUNE_PAUSE = 0.002
"""Seconds a prune rests between batches on SQLite, so deliveries take the write lock."""
