"""The PostgreSQL inbox store (``payplane[postgres]``), for several app servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
import psycopg.errors

from payplane._stores import (
    SCHEMA_VERSION,
    InboxBusyError,
    RecordState,
    _now,
    _SqlApply,
    _SqlStore,
)
from payplane.exceptions import ConfigurationError

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
)
"""

# Serialises schema creation across app servers starting at once.
_MIGRATION_LOCK = 0x7061_7970_6C61_6E65 & 0x7FFF_FFFF_FFFF_FFFF


class PostgresStore(_SqlStore):
    """PostgreSQL store: exactly once across processes and machines.

    Recording is ``INSERT ... ON CONFLICT DO NOTHING``; applying locks the event's row
    (``SELECT ... FOR UPDATE``, waiting at most the receiver's bound through
    ``lock_timeout``) and commits the handler's writes with the "applied" mark. A worker
    that dies mid-handler loses its connection, so its transaction rolls back and the
    lock is released. One connection per thread and process.

    Args:
        conninfo: A libpq connection string or URL. It may hold a password: payplane
            never logs it.
    """

    placeholder = "%s"

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._migrate()

    def __repr__(self) -> str:
        return "<PostgresStore>"

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo, autocommit=True)

    def _usable(self, conn: psycopg.Connection[Any]) -> bool:
        return not conn.closed

    def time(self, value: datetime) -> object:
        """Return *value* unchanged: psycopg adapts it to ``timestamptz``."""
        return value

    def _migrate(self) -> None:
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            for statement in _SCHEMA.split(";"):
                conn.execute(statement)  # literal DDL
            row = conn.execute("SELECT MAX(version) FROM payplane_schema").fetchone()
            version = None if row is None else row[0]
            if version is None:
                conn.execute("INSERT INTO payplane_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                msg = (
                    f"the database holds inbox schema version {version}; this payplane "
                    f"knows version {SCHEMA_VERSION}: upgrade payplane"
                )
                raise ConfigurationError(msg, field="conninfo")

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state.

        *wait* is unused: ``ON CONFLICT DO NOTHING`` does not wait for the row's lock.
        """
        del wait
        self._execute(
            "INSERT INTO payplane_postbacks"
            " (provider, event_key, state, received_at, body, event)"
            " VALUES (?, ?, 'received', ?, ?, ?) ON CONFLICT (provider, event_key) DO NOTHING",
            (provider, event_key, self.time(_now()), body, event_json),
        )
        row = self._execute(
            "SELECT state FROM payplane_postbacks WHERE provider = ? AND event_key = ?",
            (provider, event_key),
        ).fetchone()
        if row is None:  # pragma: no cover - inserted or present just above
            raise LookupError((provider, event_key))
        return RecordState(row[0])

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_SqlApply]:
        """Lock the event's row in a transaction (see :class:`~payplane.Store`)."""
        conn = self._conn()
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{max(1, int(wait * 1000))}ms'")
            try:
                row = conn.execute(
                    "SELECT state FROM payplane_postbacks"
                    " WHERE provider = %s AND event_key = %s FOR UPDATE",
                    (provider, event_key),
                ).fetchone()
            except psycopg.errors.LockNotAvailable as exc:
                raise InboxBusyError(str(exc)) from exc
            if row is None:
                raise LookupError((provider, event_key))
            yield _SqlApply(
                self, conn, provider=provider, event_key=event_key, state=RecordState(row[0])
            )
