"""The PostgreSQL inbox store (``payplane[postgres]``), for several app servers.

psycopg and psycopg_pool are imported when a store is built, not with this module, so
``from payplane import *`` works without the extra.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payplane_postbacks (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    replays INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMPTZ NOT NULL,
    applied_at TIMESTAMPTZ,
    last_error TEXT,
    body BYTEA NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (provider, event_key)
);
CREATE TABLE IF NOT EXISTS payplane_rejected (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    error TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS payplane_rejected_received_at ON payplane_rejected (received_at)
"""

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

    Recording is ``INSERT ... ON CONFLICT DO NOTHING``; applying locks the event's row
    (``SELECT ... FOR UPDATE``, waiting at most the receiver's bound through
    ``lock_timeout``) and commits the handler's writes with the "applied" mark. A worker
    that dies mid-handler loses its connection, so its transaction rolls back and the
    lock is released.

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
            for statement in _SCHEMA.split(";"):
                self._schema_statement(conn, statement)
            row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
            version = None if row is None else row[0]
            _newer_schema(version, "the database", "conninfo")
            if version is None:
                conn.execute("INSERT INTO payplane_schema (version) VALUES (%s)", (SCHEMA_VERSION,))

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

    # -- the steps ----------------------------------------------------------------------------

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state.

        *wait* is unused: ``ON CONFLICT DO NOTHING`` does not wait for the row's lock.
        Idempotent, so a lost connection costs one retry on a fresh one.
        """
        del wait
        now = self.time(_now())

        def work(conn: psycopg.Connection[Any]) -> RecordState:
            row = conn.execute(
                "INSERT INTO payplane_postbacks"
                " (provider, event_key, state, received_at, body, event)"
                " VALUES (%s, %s, 'received', %s, %s, %s)"
                " ON CONFLICT (provider, event_key) DO NOTHING RETURNING state",
                (provider, event_key, now, body, event_json),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT state FROM payplane_postbacks WHERE provider = %s AND event_key = %s",
                    (provider, event_key),
                ).fetchone()
            if row is None:  # pragma: no cover - inserted or present just above
                raise LookupError((provider, event_key))
            return RecordState(row[0])

        return self._run(work)

    def _reject_on(
        self, conn: psycopg.Connection[Any], provider: str, body: bytes, error: str
    ) -> None:
        condition, params = self._prune_condition()
        insert = (
            "INSERT INTO payplane_rejected (provider, received_at, error, body)"
            " VALUES (%s, %s, %s, %s)"
        )
        values = (provider, self.time(_now()), error, body)
        if not condition:
            conn.execute(insert, values)
            return
        # One statement, so one transaction: the insert and the pruning it allows.
        conn.execute(
            f"WITH new AS ({insert} RETURNING id) DELETE FROM payplane_rejected WHERE "  # noqa: S608 - placeholders only
            + self.sql(condition.format(new="(SELECT id FROM new)")),
            (*values, *params),
        )

    def _begin_locked(
        self, conn: psycopg.Connection[Any], provider: str, event_key: str, wait: float
    ) -> RecordState:
        conn.execute("BEGIN")
        conn.execute(f"SET LOCAL lock_timeout = '{max(1, int(wait * 1000))}ms'")
        try:
            row = conn.execute(
                "SELECT state FROM payplane_postbacks"
                " WHERE provider = %s AND event_key = %s FOR UPDATE",
                (provider, event_key),
            ).fetchone()
        except self._psycopg.errors.LockNotAvailable as exc:
            raise InboxBusyError(str(exc)) from exc
        if row is None:
            raise LookupError((provider, event_key))
        return RecordState(row[0])
