"""The PostgreSQL inbox store (``payplane[postgres]``), for several app servers.

psycopg and psycopg_pool are imported when a store is built, not with this module, so
``from payplane import *`` works without the extra.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import threading
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["POSTBACKS_INDEXES", "POSTBACKS_TABLE", "PostgresStore"]

POSTBACKS_TABLE = """
CREATE TABLE {name} (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    event_key TEXT NOT NULL,
    kind TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    replays INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMPTZ NOT NULL,
    applied_at TIMESTAMPTZ,
    next_attempt_at TIMESTAMPTZ,
    dead_at TIMESTAMPTZ,
    last_error TEXT,
    headers TEXT NOT NULL DEFAULT '{{}}',
    body BYTEA NOT NULL,
    event TEXT NOT NULL,
    CONSTRAINT {name}_key UNIQUE (provider, account, event_key)
)"""
"""The version-2 events table (``{name}`` to fill); its indexes are ``POSTBACKS_INDEXES``."""

POSTBACKS_INDEXES = (
    # Deferred mode's queue, in claiming order; only waiting events are in it.
    "CREATE INDEX IF NOT EXISTS {name}_due ON {name} (next_attempt_at, id) WHERE " + WAITING,
    # Pruning (applied and ignored events by age) and listing by state.
    "CREATE INDEX IF NOT EXISTS {name}_settled ON {name} (state, applied_at)",
)

_REJECTED_TABLE = """
CREATE TABLE IF NOT EXISTS payplane_rejected (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMPTZ NOT NULL,
    error TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    body BYTEA NOT NULL
)"""

_CREATE = (
    POSTBACKS_TABLE.format(name="payplane_postbacks"),
    *(index.format(name="payplane_postbacks") for index in POSTBACKS_INDEXES),
    _REJECTED_TABLE,
    "CREATE INDEX IF NOT EXISTS payplane_rejected_received_at ON payplane_rejected (received_at)",
)

# Version 1 to 2: accounts, headers, deferred mode's columns, the ignored and dead states;
# the unique key gains the account. ADD COLUMN with a constant default rewrites nothing.
_MIGRATE_1_TO_2 = (
    (
        "ALTER TABLE payplane_postbacks ADD COLUMN account TEXT NOT NULL DEFAULT '',"
        " ADD COLUMN kind TEXT, ADD COLUMN next_attempt_at TIMESTAMPTZ,"
        " ADD COLUMN dead_at TIMESTAMPTZ, ADD COLUMN headers TEXT NOT NULL DEFAULT '{}'"
    ),
    "UPDATE payplane_postbacks SET kind = event::json->>'kind'",
    # The version-1 key, under whatever name the server gave it.
    """DO $$ DECLARE name TEXT; BEGIN
        SELECT conname INTO name FROM pg_constraint
        WHERE conrelid = 'payplane_postbacks'::regclass AND contype = 'u';
        IF name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE payplane_postbacks DROP CONSTRAINT %I', name);
        END IF;
    END $$""",
    (
        "ALTER TABLE payplane_postbacks ADD CONSTRAINT payplane_postbacks_key"
        " UNIQUE (provider, account, event_key)"
    ),
    *(index.format(name="payplane_postbacks") for index in POSTBACKS_INDEXES),
    (
        "ALTER TABLE payplane_rejected ADD COLUMN account TEXT NOT NULL DEFAULT '',"
        " ADD COLUMN headers TEXT NOT NULL DEFAULT '{}'"
    ),
    # Version 1 recorded a verified non-payment event and left it received: ignored.
    (
        "UPDATE payplane_postbacks SET state = 'ignored', applied_at = received_at"
        " WHERE kind = 'other' AND state IN ('received', 'failed')"
    ),
)

MIGRATIONS = {1: _MIGRATE_1_TO_2}
"""Statements that bring a database from version N to N + 1, run in one transaction."""

_CLAIM = (
    "SELECT id, provider, account, event_key, state, attempts, event"  # noqa: S608 - constants
    f" FROM payplane_postbacks WHERE {WAITING} AND next_attempt_at <= now()"
    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_SELECT_HELD = (
    "SELECT id, state, attempts, event FROM payplane_postbacks"
    " WHERE provider = %s AND account = %s AND event_key = %s"
)

# Inline mode's new event, inserted as applied by the transaction that runs the handler
# (binary parameters, prepared by psycopg after a few uses). One row comes back:
# (id, NULL, 1, TRUE) when inserted, (id, state, attempts, FALSE) for a committed row.
_INSERT_APPLIED = (
    "WITH ins AS (INSERT INTO payplane_postbacks (provider, account, event_key, kind, state,"
    " attempts, received_at, applied_at, headers, body, event)"
    " VALUES (%(provider)s, %(account)s, %(key)s, %(kind)s, 'applied', 1, now(), now(),"
    " %(headers)s, %(body)s, %(event)s)"
    " ON CONFLICT (provider, account, event_key) DO NOTHING RETURNING id)"
    " SELECT id, NULL::text, 1, TRUE FROM ins UNION ALL"
    " SELECT id, state, attempts, FALSE FROM payplane_postbacks WHERE provider = %(provider)s"
    " AND account = %(account)s AND event_key = %(key)s AND NOT EXISTS (SELECT 1 FROM ins)"
)


def _insert_params(new: NewRecord) -> dict[str, object]:
    provider, account, key = new.ref
    return {
        "provider": provider,
        "account": account,
        "key": key,
        "kind": new.kind,
        "headers": new.headers_json,
        "body": new.body,
        "event": new.event_json,
    }


def record_statement(state: RecordState) -> str:
    """``record``'s insert of an event in *state*, times from the server's clock.

    Parameters: provider, account, event key, kind, state, headers, body, event. Returns
    the state when it inserted, no row when the event was there.
    """
    received = state is RecordState.RECEIVED
    return (
        "INSERT INTO payplane_postbacks (provider, account, event_key, kind, state,"  # noqa: S608
        " received_at, applied_at, next_attempt_at, headers, body, event) VALUES"
        f" (%s, %s, %s, %s, %s, now(), {'NULL' if received else 'now()'},"
        f" {'now()' if received else 'NULL'}, %s, %s, %s)"
        " ON CONFLICT (provider, account, event_key) DO NOTHING RETURNING state"
    )


def _connection_failure(exc: BaseException, psycopg: ModuleType) -> bool:
    """Whether *exc* says the connection failed, whatever the connection's state says yet.

    A client-side ``OperationalError`` (no SQLSTATE: "connection socket closed", which
    psycopg raises before the connection reads as broken), class 08 (connection
    exception) or 57P (the server shut the session down). Not a lock timeout (55P03) or
    a cancelled statement (57014): those leave the connection usable.
    """
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


# Serialises schema creation across app servers starting at once.
_MIGRATION_LOCK = 0x7061_7970_6C61_6E65 & 0x7FFF_FFFF_FFFF_FFFF

_EXTRA = 'PostgresStore needs the postgres extra: pip install "payplane[postgres]"'


def _require() -> tuple[ModuleType, ModuleType]:
    """Return psycopg and psycopg_pool, or say which extra brings them."""
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError as exc:
        raise ConfigurationError(_EXTRA) from exc


def _positive_int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"{field} must be a positive int, not {value!r}"
        raise ConfigurationError(msg, field=field)
    return value


class PostgresStore(_SqlStore):
    """PostgreSQL store: exactly once across processes and machines.

    A new event is inserted (``INSERT ... ON CONFLICT DO NOTHING``) by the transaction that
    runs the handler and marks it applied, opened in one round trip: until that commit the
    row is invisible and its key locked, so a concurrent delivery of the same event waits
    (at most the receiver's bound, through ``lock_timeout``) and then finds it applied.
    An event recorded but not applied is locked with ``SELECT ... FOR UPDATE``; deferred
    mode's workers claim due events with ``FOR UPDATE SKIP LOCKED`` under a lease
    (``idle_in_transaction_session_timeout`` and ``statement_timeout``). A worker that
    dies mid-handler loses its connection, so its transaction rolls back and the lock
    is released.

    Opening a database of an older schema version migrates it in place (under an
    advisory lock, in one transaction).

    Connections come from a ``psycopg_pool.ConnectionPool`` (autocommit connections; the
    store opens its transactions itself). A connection that dies (a server restart, a
    failover, ``pg_terminate_backend``) is discarded and an idempotent step is tried
    once more on a fresh one: recording, reading, keeping a rejected delivery, opening
    an apply transaction. A loss inside an apply transaction rolls it back; the inbox
    then tries the whole apply once more, where the event's committed state decides
    (a COMMIT whose answer was lost either committed the "applied" mark with the
    handler's writes, or neither). Past that the inbox answers "send again".

    Args:
        conninfo: A libpq connection string or URL. It may hold a password: payplane
            never logs it.
        create: Whether to create payplane's tables. With ``False`` the store never
            writes schema, and raises :class:`~payplane.exceptions.ConfigurationError`
            ``"no payplane inbox in this database"`` when they are missing.
        max_connections: The pool's largest size. A delivery holds one connection
            while it records and one while it applies (not both at once); a handler
            that reads the store while it applies takes a second one.
        timeout: Seconds to wait for a connection (from the pool, or when connecting
            at construction) before answering "send again" (or raising).
        rejected_limit: How many refused deliveries to keep, the newest (``None``: all).
        rejected_max_age: How long to keep a refused delivery (``None``: forever).

    Raises:
        ConfigurationError: psycopg is not installed, the database cannot be reached
            or its tables created (after one retry on a fresh connection), it holds a
            newer schema, or (``create=False``) it holds no payplane inbox.
    """

    placeholder = "%s"

    def __init__(
        self,
        conninfo: str,
        *,
        create: bool = True,
        max_connections: int = 20,
        timeout: float = 10.0,
        rejected_limit: int | None = DEFAULT_REJECTED_LIMIT,
        rejected_max_age: timedelta | None = DEFAULT_REJECTED_MAX_AGE,
    ) -> None:
        self._psycopg, self._pool_module = _require()
        super().__init__(rejected_limit=rejected_limit, rejected_max_age=rejected_max_age)
        self._conninfo = conninfo
        self.create = create
        self.max_connections = _positive_int(max_connections, "max_connections")
        self.timeout = _positive_seconds(timeout, "timeout")
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        # Pools inherited across fork: kept referenced so nothing ever finalises them.
        self._inherited: list[object] = []
        self._setup()

    def __repr__(self) -> str:
        return "<PostgresStore>"

    # -- connections ------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection outside the pool (schema setup)."""
        pg = self._psycopg
        options: dict[str, object] = {"autocommit": True}
        if "connect_timeout" not in pg.conninfo.conninfo_to_dict(self._conninfo):
            options["connect_timeout"] = max(1, round(self.timeout))
        conn: psycopg.Connection[Any] = pg.connect(self._conninfo, **options)
        return conn

    def _get_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        pool, pid = self._pool, os.getpid()
        if pool is not None and self._pool_pid == pid and not pool.closed:
            return pool
        with self._pool_lock:
            pool = self._pool
            if pool is None or self._pool_pid != pid or pool.closed:
                if pool is not None and self._pool_pid != pid:
                    self._inherited.append(pool)
                pool = self._pool_module.ConnectionPool(
                    self._conninfo,
                    kwargs={"autocommit": True},
                    min_size=1,
                    max_size=self.max_connections,
                    timeout=self.timeout,
                    name="payplane-inbox",
                    open=True,
                )
                self._pool, self._pool_pid = pool, pid
            assert pool is not None  # noqa: S101 - for mypy: set just above
            return pool

    def _acquire(self) -> tuple[psycopg.Connection[Any], ConnectionPool[Any]]:
        pools = self._pool_module
        try:
            pool = self._get_pool()
            try:
                return pool.getconn(), pool
            except pools.PoolClosed:
                # close() ran in another thread meanwhile: a new pool serves.
                pool = self._get_pool()
                return pool.getconn(), pool
        except (pools.PoolTimeout, pools.PoolClosed) as exc:
            msg = f"no PostgreSQL connection within {self.timeout:g} seconds: {exc}"
            raise StoreUnavailableError(msg) from exc

    def _release(
        self, conn: psycopg.Connection[Any], token: ConnectionPool[Any], *, lost: bool
    ) -> None:
        if lost and not conn.closed:
            conn.close()
        try:
            token.putconn(conn)  # the pool replaces a closed connection
        except Exception:  # noqa: BLE001 - a pool closed meanwhile closes it instead
            conn.close()

    def _lost(self, exc: BaseException, conn: psycopg.Connection[Any]) -> bool:
        return (
            isinstance(exc, StoreUnavailableError)
            or conn.closed
            or conn.broken
            or isinstance(exc, self._psycopg.InterfaceError)
            or _connection_failure(exc, self._psycopg)
        )

    def _recover(self) -> None:
        # After one dead connection the others are likely dead too (a restart): test
        # the idle ones now, so the retry gets a live one.
        pool = self._pool
        if pool is not None and not pool.closed:
            with contextlib.suppress(Exception):  # the retry reports what matters
                pool.check()

    def close(self) -> None:
        """Close the pool and its idle connections (those in use close when returned).

        A later call opens a new pool.
        """
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.close()

    def time(self, value: datetime) -> object:
        """Return *value* unchanged: psycopg adapts it to ``timestamptz``."""
        return value

    # -- schema -------------------------------------------------------------------------------

    def _setup(self) -> None:
        """Create (or, with ``create=False``, check) the tables; once more if the link dies."""
        pg = self._psycopg
        work = self._create_tables if self.create else self._check_tables
        for attempt in (1, 2):
            try:
                with self._connect() as conn:
                    work(conn)
            except pg.OperationalError as exc:
                if attempt == 1:
                    continue
                msg = (
                    "cannot "
                    + ("create payplane's inbox tables in" if self.create else "read")
                    + f" PostgreSQL: {exc}"
                )
                raise ConfigurationError(msg, field="conninfo") from exc
            except pg.Error as exc:
                msg = f"cannot set up the payplane inbox in PostgreSQL: {exc}"
                raise ConfigurationError(msg, field="conninfo") from exc
            return

    def _schema_statement(self, conn: psycopg.Connection[Any], statement: str) -> None:
        conn.execute(statement)  # literal DDL

    def _create_tables(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._schema_statement(
                conn, "CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
            version = None if row is None else row[0]
            _newer_schema(version, "the database", "conninfo")
            if version is None:
                for statement in _CREATE:
                    self._schema_statement(conn, statement)
                conn.execute("INSERT INTO payplane_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
                return
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version]:
                    self._schema_statement(conn, statement)
                version += 1
                conn.execute("UPDATE payplane_schema SET version = %s", (version,))

    def _check_tables(self, conn: psycopg.Connection[Any]) -> None:
        missing = "no payplane inbox in this database"
        row = conn.execute(
            "SELECT " + ", ".join(["to_regclass(%s) IS NOT NULL"] * len(TABLES)), TABLES
        ).fetchone()
        if row is None or not all(row):
            raise ConfigurationError(missing, field="conninfo")
        version_row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
        version = None if version_row is None else version_row[0]
        if version is None:
            raise ConfigurationError(missing, field="conninfo")
        _newer_schema(version, "the database", "conninfo")
        _older_schema(version, "the database", "conninfo")

    # -- the steps ----------------------------------------------------------------------------

    def later(self, seconds: float | None) -> tuple[str, tuple[object, ...]]:
        """SQL for the time *seconds* from now on the server's clock, and its parameters."""
        if seconds is None:
            return "NULL", ()
        return "clock_timestamp() + make_interval(secs => %s)", (float(seconds),)

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present: one statement, one commit.

        *wait* is unused: ``ON CONFLICT DO NOTHING`` only waits for a concurrent
        transaction inserting the same event. Idempotent, so a lost connection costs one
        retry on a fresh one.
        """
        del wait
        statement = record_statement(state)
        params = (*new.ref, new.kind, state.value, new.headers_json, new.body, new.event_json)

        def work(conn: psycopg.Connection[Any]) -> tuple[RecordState, bool]:
            row = conn.execute(statement, params).fetchone()
            if row is not None:
                return RecordState(row[0]), True
            row = conn.execute(
                "SELECT state FROM payplane_postbacks"
                " WHERE provider = %s AND account = %s AND event_key = %s",
                new.ref,
            ).fetchone()
            if row is None:  # pragma: no cover - inserted or present just above
                raise LookupError(new.ref)
            return RecordState(row[0]), False

        return self._run(work)

    def _begin_apply(
        self, conn: psycopg.Connection[Any], ref: EventRef, wait: float, new: NewRecord | None
    ) -> _SqlApply:
        errors = self._psycopg.errors
        try:
            conn.execute(f"BEGIN; SET LOCAL lock_timeout = '{_ms(wait)}ms'")
            if new is not None:
                row = conn.execute(_INSERT_APPLIED, _insert_params(new)).fetchone()
                if row is not None and row[3]:
                    # No savepoint before the handler (a round trip per event): a
                    # failure rolls the whole transaction back and records it anew.
                    context = _SqlApply(
                        self, conn, ref, row[0], RecordState.RECEIVED, 1, new.event_json, fresh=True
                    )
                    context.redo = functools.partial(self._record_failure, conn, context, new, wait)
                    return context
                if row is not None and RecordState(row[1]) in (
                    RecordState.APPLIED,
                    RecordState.IGNORED,
                ):
                    return _SqlApply(self, conn, ref, row[0], RecordState(row[1]), row[2], "")
                # Waiting, or committed by a concurrent delivery after this statement's
                # snapshot: lock it (a new statement sees every committed row).
            held = conn.execute(_SELECT_HELD + " FOR UPDATE", ref).fetchone()
        except errors.LockNotAvailable as exc:
            raise InboxBusyError(str(exc)) from exc
        if held is None:
            raise LookupError(ref)
        return _SqlApply(self, conn, ref, held[0], RecordState(held[1]), held[2], held[3])

    def _record_failure(
        self, conn: psycopg.Connection[Any], context: _SqlApply, new: NewRecord, wait: float
    ) -> None:
        """The handler of a fresh event raised: undo everything, keep the event as failed.

        The new transaction inserts the event again (the caller's ``mark_failed`` then
        records the error); if a concurrent delivery recorded it meanwhile, that row is
        locked instead and the failed attempt is counted on it.
        """
        errors = self._psycopg.errors
        conn.execute("ROLLBACK")
        try:
            conn.execute(f"BEGIN; SET LOCAL lock_timeout = '{_ms(wait)}ms'")
            row = conn.execute(_INSERT_APPLIED, _insert_params(new)).fetchone()
            if row is not None and row[3]:
                context.retarget(row[0], RecordState.RECEIVED, fresh=True)
                return
            held = conn.execute(_SELECT_HELD + " FOR UPDATE", new.ref).fetchone()
        except errors.LockNotAvailable as exc:
            raise InboxBusyError(str(exc)) from exc
        if held is None:  # pragma: no cover - inserted or present just above
            raise LookupError(new.ref)
        context.retarget(held[0], RecordState(held[1]), fresh=False)

    def _begin_claim(
        self, conn: psycopg.Connection[Any], wait: float, lease: float
    ) -> _SqlApply | None:
        del wait  # SKIP LOCKED never waits
        # The lease: a worker whose transaction stays idle (a handler that hangs outside
        # the database, a machine gone without closing its connection) or whose statement
        # runs longer has its session ended by the server, which rolls back and frees
        # the event for another worker.
        cursor = conn.execute(
            f"BEGIN; SET LOCAL idle_in_transaction_session_timeout = '{_ms(lease)}ms';"
            f" SET LOCAL statement_timeout = '{_ms(lease)}ms'; {_CLAIM};"
            " SAVEPOINT payplane_handler_0"
        )
        for _ in range(3):
            cursor.nextset()
        row = cursor.fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            return None
        row_id, provider, account, key, state, attempts, event = row
        return _SqlApply(
            self,
            conn,
            EventRef(provider, account, key),
            row_id,
            RecordState(state),
            attempts,
            event,
            savepoint="payplane_handler_0",
        )

    def _reject_on(  # noqa: PLR0917 - the columns of a refused delivery
        self,
        conn: psycopg.Connection[Any],
        provider: str,
        account: str,
        body: bytes,
        error: str,
        headers_json: str,
    ) -> None:
        condition, params = self._prune_condition()
        insert = (
            "INSERT INTO payplane_rejected (provider, account, received_at, error, headers, body)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
        )
        values = (provider, account, self.time(_now()), error, headers_json, body)
        if not condition:
            conn.execute(insert, values)
            return
        # One statement, so one transaction: the insert and the pruning it allows.
        conn.execute(
            f"WITH new AS ({insert} RETURNING id) DELETE FROM payplane_rejected WHERE "  # noqa: S608 - placeholders only
            + self.sql(condition.format(new="(SELECT id FROM new)")),
            (*values, *params),
        )

    def _requeue_on(self, conn: psycopg.Connection[Any], ref: EventRef) -> RecordState | None:
        row = conn.execute(
            "UPDATE payplane_postbacks SET state = 'received', attempts = 0, dead_at = NULL,"
            " next_attempt_at = now() WHERE provider = %s AND account = %s AND event_key = %s"
            " AND state IN ('dead', 'failed') RETURNING state",
            ref,
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT state FROM payplane_postbacks"
                " WHERE provider = %s AND account = %s AND event_key = %s",
                ref,
            ).fetchone()
        return None if row is None else RecordState(row[0])

    def _prune_statement(self, table: str, condition: str) -> str:
        # Rows another transaction holds (an event being replayed) are skipped, not waited for.
        return (
            f"DELETE FROM {table} WHERE id IN"  # noqa: S608 - constant names
            f" (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT ?"
            " FOR UPDATE SKIP LOCKED)"
        )

    def _prune_batch(
        self, conn: psycopg.Connection[Any], statement: str, params: tuple[object, ...]
    ) -> int:
        return conn.execute(statement, params).rowcount
