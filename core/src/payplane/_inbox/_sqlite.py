"""The SQLite store: the embedded default, one file shared by threads and processes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from payplane._inbox._sql import TABLES, _newer_schema, _SqlStore
from payplane._inbox._store import (
    DEFAULT_REJECTED_LIMIT,
    DEFAULT_REJECTED_MAX_AGE,
    SCHEMA_VERSION,
    InboxBusyError,
    RecordState,
    StoreUnavailableError,
    _now,
    _positive_seconds,
)
from payplane.exceptions import ConfigurationError

__all__ = ["SQLiteStore"]

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


# SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY)
    return isinstance(exc, sqlite3.OperationalError) and (code & 0xFF) in _SQLITE_BUSY


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
