"""The inbox on a SQLAlchemy ``Engine``: the handler writes through the ORM, exactly once.

The SQL is the SQLite and PostgreSQL stores' own (the same tables, the same statements);
what differs is where connections come from (the caller's engine and its pool) and how
transactions are run (SQLAlchemy's: ``Connection.begin()``, ``begin_nested()`` for the
handler's savepoint, ``commit()``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from payplane._inbox import _postgres, _sqlite
from payplane._inbox._sql import TABLES, _newer_schema, _older_schema, _SqlApply, _SqlStore
from payplane._inbox._store import (
    DEFAULT_REJECTED_LIMIT,
    DEFAULT_REJECTED_MAX_AGE,
    SCHEMA_VERSION,
    EventRef,
    InboxBusyError,
    InboxTransaction,
    NewRecord,
    RecordState,
    StoreUnavailableError,
    _now,
)
from payplane.exceptions import ConfigurationError

__all__ = ["SQLAlchemyStore", "session"]

_SETTLED = (RecordState.APPLIED, RecordState.IGNORED)

_OPERATION_WAIT = 30.0
"""Seconds an operation (keeping a refused delivery, re-queueing, a prune batch) waits for
SQLite's write lock in this process."""

_PRUNE_PAUSE = 0.002
"""Seconds a prune rests between batches on SQLite, so deliveries take the write lock."""

_LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a lock not had within ``lock_timeout``."""

SessionFactory = Callable[..., Session]
"""Builds the handler's session: called as ``factory(bind=connection,
join_transaction_mode="create_savepoint")`` (a ``sessionmaker`` or a ``Session`` class)."""


def _reason(exc: BaseException) -> str:
    """The driver's message, without SQLAlchemy's statement, parameters and link."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}".strip()
    return f"{type(exc).__name__}: {exc}"


def _busy(exc: BaseException) -> bool:
    """Whether *exc* says another connection holds the lock (SQLite) or it timed out (PG)."""
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    orig = exc.orig
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        return True
    return orig.__class__.__module__ == "sqlite3" and _sqlite._busy(orig)  # noqa: SLF001


class _Driver:
    """A SQLAlchemy ``Connection`` as the SQL stores' shared code uses a connection.

    ``execute(sql, params)`` runs driver-level SQL (``?`` for SQLite, ``%s`` for psycopg)
    through ``Connection.exec_driver_sql``, inside whatever SQLAlchemy transaction is open.
    """

    __slots__ = ("sa",)

    def __init__(self, connection: Connection) -> None:
        self.sa = connection

    def execute(
        self, statement: str, params: Sequence[object] | dict[str, object] | None = None
    ) -> Any:  # noqa: ANN401 - a CursorResult of rows whose shape the statement decides
        if params is None:
            # Literal SQL: no parameter markers are parsed (DDL may hold a "%").
            return self.sa.exec_driver_sql(statement, execution_options={"no_parameters": True})
        return self.sa.exec_driver_sql(statement, params)


@attrs.frozen
class _Transaction(InboxTransaction):
    """The handler's :class:`~payplane.InboxTransaction` on a :class:`SQLAlchemyStore`.

    ``connection`` is the SQLAlchemy ``Connection`` in the apply transaction (inside the
    handler's savepoint); :func:`session` gives a ``Session`` joined to it.
    """

    _factory: SessionFactory = attrs.field(repr=False, eq=False)
    _sessions: list[Session] = attrs.field(factory=list, init=False, repr=False, eq=False)

    def session(self) -> Session:
        """Return the one session of this handler run, made on first use."""
        if not self._sessions:
            self._sessions.append(
                self._factory(bind=self.connection, join_transaction_mode="create_savepoint")
            )
        return self._sessions[0]

    def flush(self) -> None:
        """Write the session's pending objects into the apply transaction, and close it."""
        if self._sessions:
            made = self._sessions.pop()
            try:
                made.commit()  # releases the session's savepoint: nothing is durable yet
            finally:
                made.close()

    def discard(self) -> None:
        """Close the session, rolling back its savepoint; quietly (the handler failed)."""
        if self._sessions:
            with contextlib.suppress(Exception):  # the failure that got here is reported
                self._sessions.pop().close()


def session(transaction: InboxTransaction) -> Session:
    """Return the SQLAlchemy ORM ``Session`` of the transaction applying the event.

    Call it in a handler of an inbox on :class:`SQLAlchemyStore`: the session is bound
    to ``transaction.connection`` inside the apply transaction, in a savepoint of its own
    (``join_transaction_mode="create_savepoint"``), so what you add, change or delete
    through it commits together with the event's "applied" mark, or not at all. Each
    call in one handler run returns the same session.

    After the handler returns, the inbox flushes the session (``session.commit()``, which
    only releases its savepoint) and closes it; if the handler raises, the session and
    all its writes are rolled back. So a handler just adds objects: no ``commit()``
    needed, and one does no harm (it commits nothing durable: the inbox commits once,
    with the mark). Do not close the session yourself before its work is flushed:
    closing discards pending work, as with any ``Session``.

    Args:
        transaction: The handler's second argument.

    Raises:
        TypeError: *transaction* is not from an inbox on a :class:`SQLAlchemyStore` (the
            in-memory, SQLite and PostgreSQL stores hand out their own connections).
    """
    if not isinstance(transaction, _Transaction):
        msg = (
            "payplane.contrib.sqlalchemy.session() needs the transaction an inbox on a "
            f"SQLAlchemyStore gives its handler, not {type(transaction).__name__} "
            f"(connection {type(transaction.connection).__name__})"
        )
        raise TypeError(msg)
    return transaction.session()


class _SaApply(_SqlApply):
    """An apply transaction of a :class:`SQLAlchemyStore` (the SQL stores' marks)."""

    def __init__(  # noqa: PLR0917 - as _SqlApply's
        self,
        store: SQLAlchemyStore,
        driver: _Driver,
        ref: EventRef,
        row_id: int,
        state: RecordState,
        attempts: int,
        event_json: str,
        *,
        fresh: bool = False,
        open_: bool = True,
        release: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            store,
            driver,
            ref,
            row_id,
            state,
            attempts,
            event_json,
            fresh=fresh,
            open_=open_,
            release=release,
        )
        self.sa_transaction = _Transaction(driver.sa, store.session_factory)
        self.transaction = self.sa_transaction

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run the handler in a SAVEPOINT (``begin_nested()``); flush its session at the end."""
        nested = self.sa_transaction.connection.begin_nested()
        try:
            yield
            self.sa_transaction.flush()
        except BaseException:
            self.sa_transaction.discard()
            # A lost connection cannot roll back: the store reports the loss next.
            with contextlib.suppress(Exception):
                nested.rollback()
            raise
        nested.commit()


class SQLAlchemyStore(_SqlStore):
    """The inbox on a SQLAlchemy 2 ``Engine``: ORM writes commit with the "applied" mark.

    The handler gets, as ``transaction.connection``, the SQLAlchemy ``Connection`` of the
    transaction that applies the event, and through :func:`session` an ORM ``Session``
    joined to it: whatever it writes commits together with the event's "applied" mark,
    or not at all. Everything else is the SQLite and PostgreSQL stores' behaviour, on the
    same tables (a database set up by one is read by the others): inline and deferred
    mode, accounts, rejected deliveries, pages of records, retention.

    Every connection comes from *engine*'s pool, through views of the engine
    (``engine.execution_options(isolation_level=...)``) whose isolation level applies to
    the store's checkouts only and is reset when a connection goes back to the pool: the
    rest of your application's use of the engine is unchanged. The store keeps no
    connection between calls.

    - **SQLite** (``sqlite:///path``, the ``pysqlite`` driver): the store's connections
      run with pysqlite's own transaction handling off (``AUTOCOMMIT``), and each write
      transaction starts with ``BEGIN IMMEDIATE``, as SQLAlchemy's documentation
      recommends for pysqlite, so the write lock is held from the start and savepoints
      work. As with :class:`~payplane.SQLiteStore`, writers of one process queue on a
      lock of the store's, handlers run one at a time per database file, a repeat of an
      applied event is answered from a read, and creating the tables switches the file
      to the WAL journal. Another process's lock is waited for as long as the engine's
      ``timeout`` connect argument says (pysqlite's default: 5 seconds). A file database
      only (``:memory:`` gives each connection its own database).
    - **PostgreSQL** (``postgresql+psycopg://``, psycopg 3): ``READ COMMITTED``
      transactions, the event's row lock (``lock_timeout`` bounds the wait), workers
      claiming with ``FOR UPDATE SKIP LOCKED`` under a lease
      (``idle_in_transaction_session_timeout``, ``statement_timeout``), as
      :class:`~payplane.PostgresStore`.

    A connection that dies (a database restart, ``pg_terminate_backend``) is
    invalidated by SQLAlchemy (``DBAPIError.connection_invalidated``) and the pool
    replaces it; an idempotent step (recording, reading, keeping a rejected delivery,
    opening an apply transaction) is then tried once more on a fresh connection, and an
    apply transaction lost mid-way is tried once more by the inbox, where the event's
    committed state decides. Past that a delivery is answered "send again". The
    engine's ``pool_pre_ping=True`` saves that retry after a restart.

    Args:
        engine: A SQLAlchemy ``Engine`` (not an ``AsyncEngine``: the handler runs in a
            worker thread) for ``sqlite`` with ``pysqlite`` or ``postgresql`` with
            ``psycopg``.
        create: Whether to create (or migrate) payplane's tables. With ``False`` the
            store never writes schema and raises
            :class:`~payplane.exceptions.ConfigurationError` ``"no payplane inbox in
            this database"`` when they are missing or older.
        session_factory: What builds the handler's session: a ``sessionmaker`` or a
            ``Session`` subclass, called as ``factory(bind=connection,
            join_transaction_mode="create_savepoint")`` (default: ``Session``).
        rejected_limit: How many refused deliveries to keep, the newest (``None``: all).
        rejected_max_age: How long to keep a refused delivery (``None``: forever).

    Raises:
        ConfigurationError: *engine* is not a supported engine, the database cannot be
            reached or its tables created (``field`` is ``"engine"``), it holds a newer
            schema, or (``create=False``) it holds no payplane inbox.
    """

    def __init__(
        self,
        engine: sqlalchemy.Engine,  # named in full: the docs link nothing they cannot import
        *,
        create: bool = True,
        session_factory: SessionFactory | None = None,
        rejected_limit: int | None = DEFAULT_REJECTED_LIMIT,
        rejected_max_age: timedelta | None = DEFAULT_REJECTED_MAX_AGE,
    ) -> None:
        super().__init__(rejected_limit=rejected_limit, rejected_max_age=rejected_max_age)
        self.sqlite = _check_engine(engine)
        self.engine = engine
        self.create = create
        self.session_factory = _check_factory(session_factory)
        if self.sqlite:
            # pysqlite's own BEGIN off for the store's checkouts; the store begins itself.
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self.placeholder = "%s"
            # The row-locking logic relies on each statement seeing every committed row.
            self._engine = engine.execution_options(isolation_level="READ COMMITTED")
        self._writer, self._writer_pid = threading.Lock(), os.getpid()
        self._setup()

    def __repr__(self) -> str:
        return f"<SQLAlchemyStore {self.engine.url.render_as_string(hide_password=True)}>"

    # -- connections ------------------------------------------------------------------------

    def _acquire(self) -> tuple[_Driver, None]:
        try:
            return _Driver(self._engine.connect()), None
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
            msg = f"cannot get a connection to the inbox database: {_reason(exc)}"
            raise StoreUnavailableError(msg) from exc

    def _release(self, conn: _Driver, token: None, *, lost: bool) -> None:
        del token
        connection = conn.sa
        with contextlib.suppress(Exception):  # a connection already gone
            if lost and not connection.invalidated:
                connection.invalidate()  # never back into the pool
            connection.close()

    def _lost(self, exc: BaseException, conn: _Driver) -> bool:
        if isinstance(exc, StoreUnavailableError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        return conn.sa.invalidated or conn.sa.closed

    def _rollback_quietly(self, conn: _Driver) -> None:
        # Nothing to roll back, or the connection is gone: either way, nothing to do.
        with contextlib.suppress(Exception):
            conn.sa.rollback()

    def _commit(self, conn: _Driver) -> None:
        conn.sa.commit()

    def close(self) -> None:
        """Do nothing: the store holds no connection between calls, the engine is yours.

        Dispose of the engine (``engine.dispose()``) when your application stops.
        """

    def time(self, value: datetime) -> object:
        """Return *value* as this database stores a time (text on SQLite)."""
        return super().time(value) if self.sqlite else value

    def later(self, seconds: float | None) -> tuple[str, tuple[object, ...]]:
        """SQL for the time *seconds* from now (PostgreSQL: the server's clock)."""
        if self.sqlite or seconds is None:
            return super().later(seconds)
        return "clock_timestamp() + make_interval(secs => %s)", (float(seconds),)

    # -- transactions -----------------------------------------------------------------------

    def _writer_lock(self) -> threading.Lock:
        # A lock inherited across fork may be held by a thread that does not exist here.
        if self._writer_pid != os.getpid():
            self._writer, self._writer_pid = threading.Lock(), os.getpid()
        return self._writer

    def _lock(self, wait: float) -> Callable[[], None]:
        """SQLite: take this process's writer lock within *wait* seconds; return its release."""
        if not self.sqlite:
            return _nothing
        lock = self._writer_lock()
        if not lock.acquire(timeout=wait):
            msg = f"another thread held the inbox's write lock for over {wait:g} seconds"
            raise InboxBusyError(msg)
        return lock.release

    def _begin(self, conn: Connection, wait: float) -> None:
        """Begin a SQLAlchemy transaction on *conn* that may write.

        SQLite: ``BEGIN IMMEDIATE``, which takes the write lock now (the caller holds this
        process's lock). PostgreSQL: lock waits bounded by *wait* seconds.
        """
        if conn.in_transaction():
            conn.commit()  # the logical transaction a read began: nothing to keep
        conn.begin()
        try:
            if self.sqlite:
                dbapi = conn.connection.dbapi_connection
                if getattr(dbapi, "in_transaction", False):
                    # An engine that begins itself (SQLAlchemy's pysqlite recipe emits a
                    # deferred BEGIN): end that empty transaction, take the write lock.
                    conn.exec_driver_sql("COMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("SELECT set_config('lock_timeout', %s, true)", (_ms(wait),))
        except sa_exc.OperationalError as exc:
            if _busy(exc):
                raise InboxBusyError(_reason(exc)) from exc
            raise

    @contextmanager
    def _writing(self, driver: _Driver, wait: float) -> Iterator[Connection]:
        """One write transaction on *driver*, committed on a normal exit."""
        release = self._lock(wait)
        try:
            self._begin(driver.sa, wait)
            try:
                yield driver.sa
                driver.sa.commit()
            except BaseException:
                self._rollback_quietly(driver)
                raise
        finally:
            release()

    # -- schema -------------------------------------------------------------------------------

    def _where(self) -> str:
        return "this database"

    def _setup(self) -> None:
        """Create (or, with ``create=False``, check) the tables."""
        try:
            with self._engine.connect() as conn:
                if self.create:
                    self._create_tables(_Driver(conn))
                else:
                    self._check_tables(conn)
        except sa_exc.SQLAlchemyError as exc:
            what = "create payplane's inbox tables in" if self.create else "read"
            msg = f"cannot {what} the database of {self!r}: {_reason(exc)}"
            raise ConfigurationError(msg, field="engine") from exc

    def _create_tables(self, driver: _Driver) -> None:
        conn = driver.sa
        module: Any = _sqlite if self.sqlite else _postgres
        if self.sqlite:
            # Not through SQLAlchemy: an engine whose "begin" event emits BEGIN (its
            # pysqlite recipe) would run it inside a transaction, where SQLite refuses it.
            driver_connection: Any = conn.connection.driver_connection
            driver_connection.execute("PRAGMA journal_mode = WAL")
        with self._writing(driver, _OPERATION_WAIT):
            if not self.sqlite:
                conn.exec_driver_sql(
                    "SELECT pg_advisory_xact_lock(%s)",
                    (_postgres._MIGRATION_LOCK,),  # noqa: SLF001
                )
            driver.execute("CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL)")
            version = driver.execute("SELECT MAX(version) FROM payplane_schema").scalar()
            _newer_schema(version, self._where(), "engine")
            if version is None:
                for statement in module._CREATE:  # noqa: SLF001
                    driver.execute(statement)
                driver.execute(
                    self.sql("INSERT INTO payplane_schema (version) VALUES (?)"), (SCHEMA_VERSION,)
                )
                return
            while version < SCHEMA_VERSION:
                for statement in module.MIGRATIONS[version]:
                    driver.execute(statement)
                version += 1
                driver.execute(self.sql("UPDATE payplane_schema SET version = ?"), (version,))

    def _check_tables(self, conn: Connection) -> None:
        missing = f"no payplane inbox in {self._where()}"
        if self.sqlite:
            names = set(
                conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
                .scalars()
                .all()
            )
            present = set(TABLES) <= names
        else:
            row = conn.exec_driver_sql(
                "SELECT " + ", ".join(["to_regclass(%s) IS NOT NULL"] * len(TABLES)), TABLES
            ).one()
            present = all(row)
        if not present:
            raise ConfigurationError(missing, field="engine")
        version = conn.exec_driver_sql("SELECT MAX(version) FROM payplane_schema").scalar()
        if version is None:
            raise ConfigurationError(missing, field="engine")
        _newer_schema(version, self._where(), "engine")
        _older_schema(version, self._where(), "engine")

    # -- the steps ----------------------------------------------------------------------------

    def _context(  # noqa: PLR0917 - the row's columns
        self,
        driver: _Driver,
        ref: EventRef,
        row_id: int,
        state: str | RecordState,
        attempts: int,
        event_json: str,
        *,
        fresh: bool = False,
        open_: bool = True,
        release: Callable[[], None] | None = None,
    ) -> _SaApply:
        return _SaApply(
            self,
            driver,
            ref,
            row_id,
            RecordState(state),
            attempts,
            event_json,
            fresh=fresh,
            open_=open_,
            release=release,
        )

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present, in one commit.

        SQLite: a repeat is answered from a read that waits for no writer.
        """
        if self.sqlite:
            statement = _sqlite._INSERT  # noqa: SLF001
            params: tuple[object, ...] = _sqlite.insert_params(new, state, self.time(_now()))
        else:
            statement = _postgres.record_statement(state)
            params = (*new.ref, new.kind, state.value, new.headers_json, new.body, new.event_json)
        select = self.sql(
            "SELECT state FROM payplane_postbacks"
            " WHERE provider = ? AND account = ? AND event_key = ?"
        )

        def work(driver: _Driver) -> tuple[RecordState, bool]:
            if self.sqlite:
                row = driver.execute(select, tuple(new.ref)).fetchone()
                if row is not None:
                    return RecordState(row[0]), False
            with self._writing(driver, wait):
                inserted = driver.execute(statement, params).fetchall()
                if inserted:
                    return state, True
                row = driver.execute(select, tuple(new.ref)).fetchone()
            if row is None:  # pragma: no cover - inserted or present just above
                raise LookupError(new.ref)
            return RecordState(row[0]), False

        return self._run(work)

    def _begin_apply(
        self, conn: _Driver, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SaApply:
        if self.sqlite:
            return self._begin_apply_sqlite(conn, ref, wait, new)
        return self._begin_apply_postgres(conn, ref, wait, new)

    def _begin_apply_sqlite(
        self, driver: _Driver, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SaApply:
        select = _sqlite._SELECT_HELD  # noqa: SLF001
        if new is not None:
            # A repeat of a settled event is answered from a read: no lock, no transaction.
            row = driver.execute(select, tuple(ref)).fetchone()
            if row is not None and RecordState(row[1]) in _SETTLED:
                return self._context(driver, ref, *row, open_=False)
        release = self._lock(wait)
        try:
            self._begin(driver.sa, wait)
            if new is not None:
                params = _sqlite.insert_params(new, RecordState.APPLIED, self.time(_now()))
                inserted = driver.execute(_sqlite._INSERT, params).fetchall()  # noqa: SLF001
                if inserted:
                    return self._context(
                        driver,
                        ref,
                        inserted[0][0],
                        RecordState.RECEIVED,
                        1,
                        new.event_json,
                        fresh=True,
                        release=release,
                    )
            row = driver.execute(select, tuple(ref)).fetchone()
            _found(row, ref)
            return self._context(driver, ref, *row, release=release)
        except BaseException:
            self._rollback_quietly(driver)
            release()
            raise

    def _begin_apply_postgres(
        self, driver: _Driver, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SaApply:
        try:
            self._begin(driver.sa, wait)
            if new is not None:
                row = driver.execute(
                    _postgres._INSERT_APPLIED,  # noqa: SLF001
                    _postgres._insert_params(new),  # noqa: SLF001
                ).fetchone()
                if row is not None and row[3]:
                    return self._context(
                        driver, ref, row[0], RecordState.RECEIVED, 1, new.event_json, fresh=True
                    )
                if row is not None and RecordState(row[1]) in _SETTLED:
                    return self._context(driver, ref, row[0], row[1], row[2], "")
                # Waiting, or committed by a concurrent delivery after this statement's
                # snapshot: lock it (a new statement sees every committed row).
            held = driver.execute(
                _postgres._SELECT_HELD + " FOR UPDATE",  # noqa: SLF001
                tuple(ref),
            ).fetchone()
        except sa_exc.OperationalError as exc:
            if _busy(exc):
                raise InboxBusyError(_reason(exc)) from exc
            raise
        if held is None:
            raise LookupError(ref)
        return self._context(driver, ref, *held)

    def _begin_claim(self, conn: _Driver, wait: float, lease: float) -> _SaApply | None:
        if self.sqlite:
            release = self._lock(wait)
            try:
                self._begin(conn.sa, wait)
                row = conn.execute(_sqlite._CLAIM, (self.time(_now()),)).fetchone()  # noqa: SLF001
            except BaseException:
                self._rollback_quietly(conn)
                release()
                raise
        else:
            release = _nothing
            # The lease: a worker whose transaction stays idle (a handler that hangs
            # outside the database, a machine gone) or whose statement runs longer has
            # its session ended by the server, which frees the event for another worker.
            conn.sa.begin()
            conn.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, true),"
                " set_config('statement_timeout', %s, true)",
                (_ms(lease), _ms(lease)),
            )
            row = conn.execute(_postgres._CLAIM).fetchone()  # noqa: SLF001
        if row is None:
            self._rollback_quietly(conn)
            release()
            return None
        row_id, provider, account, key, state, attempts, event = row
        return self._context(
            conn,
            EventRef(provider, account, key),
            row_id,
            state,
            attempts,
            event,
            release=None if release is _nothing else release,
        )

    def _reject_on(  # noqa: PLR0917 - the columns of a refused delivery
        self,
        conn: _Driver,
        provider: str,
        account: str,
        body: bytes,
        error: str,
        headers_json: str,
    ) -> None:
        condition, params = self._prune_condition()
        with self._writing(conn, _OPERATION_WAIT):
            new = conn.execute(
                self.sql(
                    "INSERT INTO payplane_rejected (provider, account, received_at, error,"
                    " headers, body) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"
                ),
                (provider, account, self.time(_now()), error, headers_json, body),
            ).scalar_one()
            if condition:
                conn.execute(
                    self.sql(
                        "DELETE FROM payplane_rejected WHERE "  # noqa: S608 - an int and placeholders
                        + condition.format(new=int(new))
                    ),
                    params,
                )

    def _requeue_on(self, conn: _Driver, ref: EventRef) -> RecordState | None:
        due, due_params = ("now()", ()) if not self.sqlite else ("?", (self.time(_now()),))
        with self._writing(conn, _OPERATION_WAIT):
            conn.execute(
                self.sql(
                    "UPDATE payplane_postbacks SET state = 'received', attempts = 0,"  # noqa: S608
                    f" dead_at = NULL, next_attempt_at = {due} WHERE provider = ?"
                    " AND account = ? AND event_key = ? AND state IN ('dead', 'failed')"
                ),
                (*due_params, *ref),
            )
            row = conn.execute(
                self.sql(
                    "SELECT state FROM payplane_postbacks"
                    " WHERE provider = ? AND account = ? AND event_key = ?"
                ),
                tuple(ref),
            ).fetchone()
        return None if row is None else RecordState(row[0])

    def _prune_statement(self, table: str, condition: str) -> str:
        if self.sqlite:
            return super()._prune_statement(table, condition)
        # Rows another transaction holds (an event being replayed) are skipped, not waited for.
        return (
            f"DELETE FROM {table} WHERE id IN"  # noqa: S608 - constant names
            f" (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT ?"
            " FOR UPDATE SKIP LOCKED)"
        )

    def _prune_batch(self, conn: _Driver, statement: str, params: tuple[object, ...]) -> int:
        with self._writing(conn, _OPERATION_WAIT):
            count: int = conn.execute(statement, params).rowcount
        if self.sqlite:
            # Let the writers that queued meanwhile in: the releasing thread would
            # otherwise take the lock again first.
            time.sleep(_PRUNE_PAUSE)
        return count


def _found(row: object, ref: EventRef) -> None:
    if row is None:
        raise LookupError(ref)


def _check_factory(value: object) -> SessionFactory:
    if value is None:
        return Session
    if not callable(value):
        msg = f"session_factory must be a sessionmaker or a Session class, not {value!r}"
        raise ConfigurationError(msg, field="session_factory")
    return value


def _nothing() -> None:
    """Release nothing (PostgreSQL has no process lock)."""


def _ms(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


_ASYNC = (
    "engine must be a synchronous sqlalchemy.Engine, not an AsyncEngine: the inbox runs "
    "the handler in a worker thread, inside the store's transaction; create the engine "
    "with sqlalchemy.create_engine (postgresql+psycopg:// serves sync code as well)"
)


def _check_engine(engine: object) -> bool:
    """Check *engine*; return whether it is SQLite (else PostgreSQL)."""
    if type(engine).__name__ == "AsyncEngine":
        raise ConfigurationError(_ASYNC, field="engine")
    if not isinstance(engine, Engine):
        msg = f"engine must be a sqlalchemy.Engine (sqlalchemy.create_engine(url)), not {engine!r}"
        raise ConfigurationError(msg, field="engine")
    dialect = engine.dialect
    if (dialect.name, dialect.driver) == ("postgresql", "psycopg"):
        return False
    if (dialect.name, dialect.driver) != ("sqlite", "pysqlite"):
        msg = (
            "SQLAlchemyStore supports SQLite through pysqlite (sqlite:///path) and PostgreSQL "
            f"through psycopg 3 (postgresql+psycopg://...), not {dialect.name}+{dialect.driver}"
        )
        raise ConfigurationError(msg, field="engine")
    database = engine.url.database or ""
    if database in {"", ":memory:"} or engine.url.query.get("mode") == "memory":
        msg = (
            "SQLAlchemyStore needs a SQLite database file (sqlite:///path/to/file.db): an "
            "in-memory database is private to each connection of the pool"
        )
        raise ConfigurationError(msg, field="engine")
    return True
