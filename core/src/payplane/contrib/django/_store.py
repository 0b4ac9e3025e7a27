"""The inbox store on Django's own database connection (``payplane[django]``).

A handler's ORM writes go to ``django.db.connections[using]``; so do the store's, in the
same ``transaction.atomic`` block: the "applied" mark and the handler's writes commit
together. The tables are the schema-v2 tables of :class:`~payplane.SQLiteStore` and
:class:`~payplane.PostgresStore` (created by this app's migration), so either store,
and ``payplane inbox ...``, read what this one wrote, and the other way round.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connections, transaction

from payplane._inbox import _postgres as pg
from payplane._inbox import _sqlite as lite
from payplane._inbox._sql import WAITING, _SqlApply, _SqlStore
from payplane._inbox._store import (
    DEFAULT_REJECTED_LIMIT,
    DEFAULT_REJECTED_MAX_AGE,
    EventRef,
    InboxBusyError,
    InboxTransaction,
    NewRecord,
    RecordState,
    StoreUnavailableError,
    _now,
)
from payplane.exceptions import ConfigurationError

__all__ = ["DjangoStore"]

_VENDORS = ("sqlite", "postgresql")

# SQLite: the write that opens each of the store's transactions. Its only purpose is to
# take SQLite's write lock (waiting for it through the busy handler) before anything is
# read, whatever the connection's ``transaction_mode``: a transaction that read first
# could not wait for the lock, only fail.
_SQLITE_LOCK = "UPDATE payplane_schema SET version = version WHERE version < 0"

_SQLITE_CLAIM = lite._CLAIM  # noqa: SLF001 - the SQLite store's own query
_PG_CLAIM = (
    "SELECT id, provider, account, event_key, state, attempts, event"  # noqa: S608 - constants
    f" FROM payplane_postbacks WHERE {WAITING} AND next_attempt_at <= now()"
    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_PG_RECORD = (
    "INSERT INTO payplane_postbacks (provider, account, event_key, kind, state,"
    " received_at, applied_at, next_attempt_at, headers, body, event) VALUES"
    " (%s, %s, %s, %s, %s, now(), {applied}, {due}, %s, %s, %s)"
    " ON CONFLICT (provider, account, event_key) DO NOTHING RETURNING state"
)
_SELECT_STATE = (
    "SELECT state FROM payplane_postbacks WHERE provider = %s AND account = %s AND event_key = %s"
)
_SELECT_HELD = (
    "SELECT id, state, attempts, event FROM payplane_postbacks"
    " WHERE provider = %s AND account = %s AND event_key = %s"
)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class _Result:
    """What one statement returned, fetched at once (the cursor is closed)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


class _Connection:
    """The store's view of ``connections[alias]``: ``execute`` as the SQL stores use it.

    Each call runs on the calling thread's Django connection (Django keeps one per
    thread), through a Django cursor: Django's error wrapping, its transaction state
    and its query logging all see the statement.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def execute(self, sql: str, params: Any = None) -> _Result:  # noqa: ANN401 - a tuple or a dict
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = [_row(row) for row in cursor.fetchall()] if cursor.description else []
            return _Result(rows, cursor.rowcount)


def _row(row: Any) -> tuple[Any, ...]:  # noqa: ANN401 - a DB-API row
    # With USE_TZ = False Django reads PostgreSQL's times naive, in settings.TIME_ZONE.
    if any(isinstance(value, datetime) and value.tzinfo is None for value in row):
        zone = ZoneInfo(settings.TIME_ZONE or "UTC")
        return tuple(
            value.replace(tzinfo=zone).astimezone(UTC)
            if isinstance(value, datetime) and value.tzinfo is None
            else value
            for value in row
        )
    return tuple(row)


class _DjangoApply(_SqlApply):
    """An apply transaction of a :class:`DjangoStore`: the handler's savepoint is Django's."""

    def __init__(self, store: DjangoStore, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(store, *args, **kwargs)
        self.transaction = InboxTransaction(connections[store.using])
        self._alias = store.using

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        # A nested atomic block: Django's savepoint, rolled back if the handler raises.
        with transaction.atomic(using=self._alias):
            yield


class DjangoStore(_SqlStore):
    """The inbox store on Django's database connection: exactly once with the ORM.

    Every transaction of the store is a ``transaction.atomic(using=using, durable=True)``
    block on the calling thread's ``django.db.connections[using]``; the handler runs in
    a nested ``atomic`` block (a savepoint) of the same transaction and gets
    ``InboxTransaction(connection=connections[using])``. ORM writes the handler makes on
    that database (``Model.objects.create(...)``, or ``.using(using)`` with several
    databases) therefore commit with the "applied" mark, or not at all: a new event
    inline is recorded, handled and marked in one commit, and a deferred worker's claim,
    handler and mark are one commit too.

    The tables are those of :class:`~payplane.SQLiteStore` and
    :class:`~payplane.PostgresStore` (schema version 2), created by the app's migration
    (``python manage.py migrate payplane``): add ``"payplane.contrib.django"`` to
    ``INSTALLED_APPS``. The store never creates tables itself.

    SQLite: each transaction first writes, so it holds SQLite's write lock before it
    reads an event's state, whatever ``OPTIONS["transaction_mode"]`` says (with
    ``"IMMEDIATE"``, Django's ``BEGIN IMMEDIATE`` takes it already). Handlers run one at
    a time per database; the store's writers of one process queue on a lock of their own
    (at most the inbox's *wait*), other processes on SQLite's, for as long as
    ``OPTIONS["timeout"]`` (Django's default: 5 seconds). A file database in WAL mode
    (``OPTIONS={"init_command": "PRAGMA journal_mode=WAL"}``) lets reads go on meanwhile.
    PostgreSQL: an event is locked with ``SELECT ... FOR UPDATE`` (waiting at most
    *wait*, through ``lock_timeout``), workers claim with ``FOR UPDATE SKIP LOCKED``
    under a lease (``idle_in_transaction_session_timeout`` and ``statement_timeout``),
    as :class:`~payplane.PostgresStore` does.

    The store opens its transactions itself and refuses to run inside another
    ``atomic`` block (``RuntimeError`` from Django: an acknowledged event must be
    committed). The postback view of ``payplane.contrib.django.urls`` is exempt
    from ``ATOMIC_REQUESTS``; call the inbox yourself outside ``atomic``. Django's
    ``TestCase`` is fine (its blocks allow durable ones).

    Connections: Django's, one per thread. A connection the store had to open (a
    thread where nothing else used the database: a worker thread, the thread of
    :meth:`~payplane.Inbox.receive_async`) is closed after each operation as Django
    closes a request's, when ``CONN_MAX_AGE`` says it is obsolete (at once with the
    default 0) or after an error made it unusable; a connection that was already open
    (a request's) is left to Django. A connection lost between operations is replaced
    once, for the steps that are safe to repeat.

    Args:
        using: The database alias (``settings.DATABASES``): SQLite or PostgreSQL.
        rejected_limit: How many refused deliveries to keep, the newest (``None``: all).
        rejected_max_age: How long to keep a refused delivery (``None``: forever).

    Raises:
        ConfigurationError: an unknown alias, or a database other than SQLite or
            PostgreSQL (``field="using"``).
    """

    placeholder = "%s"

    def __init__(
        self,
        using: str = "default",
        *,
        rejected_limit: int | None = DEFAULT_REJECTED_LIMIT,
        rejected_max_age: timedelta | None = DEFAULT_REJECTED_MAX_AGE,
    ) -> None:
        super().__init__(rejected_limit=rejected_limit, rejected_max_age=rejected_max_age)
        if using not in settings.DATABASES:
            known = ", ".join(sorted(settings.DATABASES)) or "none"
            msg = f"using must name a database of settings.DATABASES ({known}), not {using!r}"
            raise ConfigurationError(msg, field="using")
        self.using = using
        vendor = connections[using].vendor
        if vendor not in _VENDORS:
            msg = (
                f"DjangoStore runs on SQLite or PostgreSQL; database {using!r} is {vendor}"
                " (use a payplane store of its own for the inbox instead)"
            )
            raise ConfigurationError(msg, field="using")
        self.sqlite = vendor == "sqlite"
        self._conn = _Connection(using)
        self._local = threading.local()
        self._writer, self._writer_pid = threading.Lock(), os.getpid()

    def __repr__(self) -> str:
        return f"<DjangoStore {self.using!r}>"

    # -- connections ------------------------------------------------------------------------

    def _django(self) -> Any:  # noqa: ANN401 - a django.db.backends DatabaseWrapper
        return connections[self.using]

    @contextmanager
    def _operation(self) -> Iterator[None]:
        """Run one store operation; close the connection after it if the store owns it."""
        conn = self._django()
        local = self._local
        depth = getattr(local, "depth", 0)
        if depth == 0 and conn.connection is None and not conn.in_atomic_block:
            local.owner = True  # whatever this thread's connection becomes: ours
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth = depth
            if depth == 0:
                self._settle(conn)

    def _settle(self, conn: Any) -> None:  # noqa: ANN401 - a DatabaseWrapper
        if not getattr(self._local, "owner", False) or conn.in_atomic_block:
            return
        if conn.connection is None:
            self._local.owner = False  # closed meanwhile (an error, or by Django)
            return
        conn.close_if_unusable_or_obsolete()
        if conn.connection is None:
            self._local.owner = False

    def _acquire(self) -> tuple[_Connection, None]:
        return self._conn, None

    def _release(self, conn: _Connection, token: None, *, lost: bool) -> None:
        del conn, token
        if lost:
            self._discard()

    def _discard(self) -> None:
        conn = self._django()
        if not conn.in_atomic_block:
            conn.close()  # the next statement connects anew

    def _usable(self) -> bool:
        conn = self._django()
        if conn.connection is None:
            return False
        try:
            return bool(conn.is_usable())
        except Exception:  # noqa: BLE001 - a connection that cannot even be asked
            return False

    def _lost(self, exc: BaseException, conn: object) -> bool:
        del conn
        if isinstance(exc, StoreUnavailableError):
            return True
        if not isinstance(exc, DatabaseError) or self._busy(exc):
            return False
        return isinstance(exc, InterfaceError) or not self._usable()

    def _busy(self, exc: BaseException) -> bool:
        cause = exc.__cause__
        if self.sqlite:
            return cause is not None and lite._busy(cause)  # noqa: SLF001 - SQLite's own test
        return getattr(cause, "sqlstate", None) == "55P03"  # lock_not_available

    def _run(self, work: Callable[[Any], Any]) -> Any:  # noqa: ANN401 - the work's result
        with self._operation():
            return super()._run(work)

    def close(self) -> None:
        """Close this thread's connection if the store opened it and it is idle.

        Connections of other threads are theirs to close (Django keeps one per thread).
        """
        conn = self._django()
        if getattr(self._local, "owner", False) and not conn.in_atomic_block:
            conn.close()
            self._local.owner = False

    def time(self, value: datetime) -> object:
        """Return *value* as the database's payplane table keeps a time."""
        if self.sqlite:
            return value.isoformat(timespec="microseconds")
        return value

    def later(self, seconds: float | None) -> tuple[str, tuple[object, ...]]:
        """SQL for the time *seconds* from now (PostgreSQL: on the server's clock)."""
        if seconds is None or self.sqlite:
            return super().later(seconds)
        return "clock_timestamp() + make_interval(secs => %s)", (float(seconds),)

    # -- the write lock (SQLite) --------------------------------------------------------------

    def _writer_lock(self) -> threading.Lock:
        # A lock inherited across fork may be held by a thread that does not exist here.
        if self._writer_pid != os.getpid():
            self._writer, self._writer_pid = threading.Lock(), os.getpid()
        return self._writer

    def _lock(self, wait: float) -> Callable[[], None]:
        """SQLite: take this process's writer lock within *wait* seconds; return its release.

        The store's writers of one process queue here, woken in turn, instead of polling
        SQLite's lock through its sleeping busy handler. PostgreSQL needs none.
        """
        if not self.sqlite:
            return _nothing
        lock = self._writer_lock()
        if not lock.acquire(timeout=wait):
            msg = f"another thread held the inbox's write lock for over {wait:g} seconds"
            raise InboxBusyError(msg)
        return lock.release

    # -- transactions -------------------------------------------------------------------------

    def _atomic(self) -> Any:  # noqa: ANN401 - Django's Atomic
        return transaction.atomic(using=self.using, durable=True)

    @staticmethod
    def _enter(atomic: Any) -> None:  # noqa: ANN401 - Django's Atomic
        try:
            atomic.__enter__()
        except RuntimeError as exc:
            msg = (
                f"{exc} DjangoStore commits each event itself: call the inbox outside "
                "transaction.atomic (and ATOMIC_REQUESTS: payplane's view is exempt)"
            )
            raise RuntimeError(msg) from exc

    @contextmanager
    def _short(self) -> Iterator[None]:
        """A transaction of its own for one short step (a durable atomic block)."""
        atomic = self._atomic()
        self._enter(atomic)
        try:
            yield
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        atomic.__exit__(None, None, None)

    @contextmanager
    def _transaction(
        self, wait: float, begin: Callable[[_Connection], _SqlApply | None]
    ) -> Iterator[_SqlApply | None]:
        """Open a durable atomic block, *begin* in it, yield; commit on a normal exit.

        Opening is tried once more on a fresh connection if the connection was lost; a
        loss after that raises :class:`StoreUnavailableError` (``commit_sent`` when it
        happened during COMMIT).
        """
        with self._operation():
            release = self._lock(wait)
            try:
                atomic, context = self._open(begin)
                committing = False
                try:
                    yield context
                    committing = True
                    atomic.__exit__(None, None, None)
                except BaseException as exc:
                    if not committing:
                        atomic.__exit__(type(exc), exc, exc.__traceback__)
                    if isinstance(exc, DatabaseError) and self._lost(exc, None):
                        self._discard()
                        where = "during COMMIT (outcome unknown)" if committing else "inside"
                        msg = f"database connection lost {where} the apply transaction: {exc}"
                        raise StoreUnavailableError(msg, commit_sent=committing) from exc
                    raise
            finally:
                release()

    def _open(self, begin: Callable[[_Connection], _SqlApply | None]) -> tuple[Any, Any]:
        for attempt in (1, 2):
            atomic = self._atomic()
            try:
                self._enter(atomic)
            except DatabaseError as exc:
                if self._busy(exc):  # SQLite's BEGIN IMMEDIATE (transaction_mode)
                    raise InboxBusyError(str(exc)) from exc
                msg = f"cannot reach database {self.using!r}: {exc}"
                raise StoreUnavailableError(msg) from exc
            try:
                return atomic, begin(self._conn)
            except BaseException as exc:
                atomic.__exit__(type(exc), exc, exc.__traceback__)
                if isinstance(exc, DatabaseError) and self._busy(exc):
                    raise InboxBusyError(str(exc)) from exc
                if not self._lost(exc, None):
                    raise
                self._discard()
                if attempt == 2:  # noqa: PLR2004 - the one retry
                    msg = f"database connection lost: {exc}"
                    raise StoreUnavailableError(msg) from exc
        raise AssertionError  # pragma: no cover - the loop returns or raises

    @contextmanager
    def applying(
        self, ref: EventRef, *, wait: float, new: NewRecord | None = None
    ) -> Iterator[_SqlApply]:
        """Lock the event inside a transaction (see :class:`~payplane.Store`)."""
        if self.sqlite and new is not None:
            # A repeat of a settled event is answered from a read: no lock, no transaction.
            row = self._run(lambda conn: conn.execute(_SELECT_HELD, ref).fetchone())
            if row is not None and RecordState(row[1]) in (
                RecordState.APPLIED,
                RecordState.IGNORED,
            ):
                yield _DjangoApply(
                    self, self._conn, ref, row[0], RecordState(row[1]), row[2], row[3], open_=False
                )
                return
        begin = self._begin_apply_sqlite if self.sqlite else self._begin_apply_pg
        with self._transaction(wait, lambda conn: begin(conn, ref, wait, new)) as context:
            assert context is not None  # noqa: S101 - for mypy: applying always holds one
            yield context

    @contextmanager
    def claim(self, *, wait: float, lease: float) -> Iterator[_SqlApply | None]:
        """Hold the next due event in a transaction; ``None`` when none is due."""
        with self._transaction(wait, lambda conn: self._begin_claim(conn, wait, lease)) as held:
            yield held

    def _held(self, conn: _Connection, ref: EventRef, row: tuple[Any, ...] | None) -> _SqlApply:
        if row is None:
            raise LookupError(ref)
        row_id, state, attempts, event = row
        return _DjangoApply(self, conn, ref, row_id, RecordState(state), attempts, event)

    def _begin_apply_sqlite(
        self, conn: _Connection, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SqlApply:
        del wait  # the process's lock was had within it; other processes: OPTIONS timeout
        if new is not None:
            # The insert is the transaction's first statement: it takes the write lock.
            inserted = conn.execute(
                self.sql(lite._INSERT),  # noqa: SLF001 - the SQLite store's own statement
                self._insert_params(new, RecordState.APPLIED),
            ).fetchall()
            if inserted:
                return _DjangoApply(
                    self,
                    conn,
                    ref,
                    inserted[0][0],
                    RecordState.RECEIVED,
                    1,
                    new.event_json,
                    fresh=True,
                )
        else:
            conn.execute(_SQLITE_LOCK)
        return self._held(conn, ref, conn.execute(_SELECT_HELD, ref).fetchone())

    def _begin_apply_pg(
        self, conn: _Connection, ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SqlApply:
        conn.execute(f"SET LOCAL lock_timeout = '{_ms(wait)}ms'")
        if new is not None:
            row = conn.execute(pg._INSERT_APPLIED, pg._insert_params(new)).fetchone()  # noqa: SLF001
            if row is not None and row[3]:
                return _DjangoApply(
                    self, conn, ref, row[0], RecordState.RECEIVED, 1, new.event_json, fresh=True
                )
            if row is not None and RecordState(row[1]) in (
                RecordState.APPLIED,
                RecordState.IGNORED,
            ):
                return _DjangoApply(self, conn, ref, row[0], RecordState(row[1]), row[2], "")
            # Waiting, or committed by a concurrent delivery after this statement's
            # snapshot: lock it (a new statement sees every committed row).
        return self._held(conn, ref, conn.execute(_SELECT_HELD + " FOR UPDATE", ref).fetchone())

    def _begin_claim(self, conn: _Connection, wait: float, lease: float) -> _SqlApply | None:
        del wait  # SQLite: the process's lock was had within it; PostgreSQL: SKIP LOCKED
        if self.sqlite:
            conn.execute(_SQLITE_LOCK)  # no lease: a hung handler holds the write lock
            row = conn.execute(self.sql(_SQLITE_CLAIM), (self.time(_now()),)).fetchone()
        else:
            # The lease: a transaction idle (a handler busy outside the database) or one
            # statement running longer than it has its session ended by the server,
            # which rolls back and frees the event for another worker.
            conn.execute(
                f"SET LOCAL idle_in_transaction_session_timeout = '{_ms(lease)}ms';"
                f" SET LOCAL statement_timeout = '{_ms(lease)}ms'"
            )
            row = conn.execute(_PG_CLAIM).fetchone()
        if row is None:
            return None
        row_id, provider, account, key, state, attempts, event = row
        ref = EventRef(provider, account, key)
        return _DjangoApply(self, conn, ref, row_id, RecordState(state), attempts, event)

    # -- the other steps ----------------------------------------------------------------------

    def _insert_params(self, new: NewRecord, state: RecordState) -> tuple[object, ...]:
        """The parameters of the SQLite store's insert, as it writes them."""
        now = self.time(_now())
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

    def _write(self, wait: float, work: Callable[[_Connection], Any]) -> Any:  # noqa: ANN401
        """Run *work* in a short transaction of its own (SQLite: under the write lock)."""

        def run(conn: _Connection) -> Any:  # noqa: ANN401 - the work's result
            release = self._lock(wait)
            try:
                with self._short():
                    if self.sqlite:
                        conn.execute(_SQLITE_LOCK)
                    return work(conn)
            except DatabaseError as exc:
                if self._busy(exc):
                    raise InboxBusyError(str(exc)) from exc
                raise
            finally:
                release()

        return self._run(run)

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present, in one commit."""

        def insert(conn: _Connection) -> tuple[RecordState, bool]:
            if self.sqlite:
                inserted = conn.execute(
                    self.sql(lite._INSERT),  # noqa: SLF001 - the SQLite store's own statement
                    self._insert_params(new, state),
                ).fetchall()
            else:
                received = state is RecordState.RECEIVED
                statement = _PG_RECORD.format(
                    applied="NULL" if received else "now()", due="now()" if received else "NULL"
                )
                params = (*new.ref, new.kind, state.value, new.headers_json, new.body)
                inserted = conn.execute(statement, (*params, new.event_json)).fetchall()
            if inserted:
                return state, True
            row = conn.execute(_SELECT_STATE, new.ref).fetchone()
            if row is None:  # pragma: no cover - inserted or present just above
                raise LookupError(new.ref)
            return RecordState(row[0]), False

        if self.sqlite:
            # A repeat needs no lock.
            row = self._run(lambda conn: conn.execute(_SELECT_STATE, new.ref).fetchone())
            if row is not None:
                return RecordState(row[0]), False
        result: tuple[RecordState, bool] = self._write(wait, insert)
        return result

    def _reject_on(  # noqa: PLR0917 - the columns of a refused delivery
        self,
        conn: _Connection,
        provider: str,
        account: str,
        body: bytes,
        error: str,
        headers_json: str,
    ) -> None:
        del conn
        condition, params = self._prune_condition()
        values = (provider, account, self.time(_now()), error, headers_json, body)

        def insert(conn: _Connection) -> None:
            row = conn.execute(
                "INSERT INTO payplane_rejected (provider, account, received_at, error,"
                " headers, body) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                values,
            ).fetchone()
            if condition and row is not None:
                conn.execute(
                    "DELETE FROM payplane_rejected WHERE "  # noqa: S608 - placeholders only
                    + self.sql(condition.format(new=int(row[0]))),
                    params,
                )

        # reject() runs this through _run already: write without a second retry layer.
        release = self._lock(_REJECT_WAIT)
        try:
            with self._short():
                if self.sqlite:
                    self._conn.execute(_SQLITE_LOCK)
                insert(self._conn)
        except DatabaseError as exc:
            if self._busy(exc):
                raise InboxBusyError(str(exc)) from exc
            raise
        finally:
            release()

    def _requeue_on(self, conn: _Connection, ref: EventRef) -> RecordState | None:
        del conn
        release = self._lock(_REJECT_WAIT)
        try:
            with self._short():
                if self.sqlite:
                    self._conn.execute(_SQLITE_LOCK)
                self._conn.execute(
                    "UPDATE payplane_postbacks SET state = 'received', attempts = 0,"
                    " dead_at = NULL, next_attempt_at = %s WHERE provider = %s AND account = %s"
                    " AND event_key = %s AND state IN ('dead', 'failed')",
                    (self.time(_now()), *ref),
                )
                row = self._conn.execute(_SELECT_STATE, ref).fetchone()
        finally:
            release()
        return None if row is None else RecordState(row[0])

    def _prune_statement(self, table: str, condition: str) -> str:
        if self.sqlite:
            return super()._prune_statement(table, condition)
        return pg.PostgresStore._prune_statement(self, table, condition)  # type: ignore[arg-type]  # noqa: SLF001

    def _prune_batch(self, conn: _Connection, statement: str, params: tuple[object, ...]) -> int:
        release = self._lock(_REJECT_WAIT)
        try:
            with self._short():
                if self.sqlite:
                    conn.execute(_SQLITE_LOCK)
                count: int = conn.execute(statement, params).rowcount
        finally:
            release()
        return count


_REJECT_WAIT = 30.0
"""Seconds a refused delivery, a re-queue or a prune batch waits for the write lock."""


def _nothing() -> None:
    pass
