"""The PostgreSQL inbox store (``payplane[postgres]``), for several app servers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors

from payplane._stores import (
    _COLUMNS,
    REJECTED_BODY_LIMIT,
    SCHEMA_VERSION,
    InboxBusyError,
    InboxRecord,
    RecordState,
    RejectedPostback,
    _now,
    _SqlApply,
    sql_record,
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


class PostgresStore:
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

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._local = threading.local()
        self._opened: list[psycopg.Connection[Any]] = []
        self._opened_lock = threading.Lock()
        self._migrate()

    def __repr__(self) -> str:
        return "<PostgresStore>"

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or getattr(self._local, "pid", None) != os.getpid():
            conn = psycopg.connect(self._conninfo, autocommit=True)
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._opened_lock:
                self._opened.append(conn)
        return conn

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
        del wait  # DO NOTHING on a conflict does not wait for the row's lock
        conn = self._conn()
        conn.execute(
            "INSERT INTO payplane_postbacks"
            " (provider, event_key, state, received_at, body, event)"
            " VALUES (%s, %s, 'received', %s, %s, %s) ON CONFLICT (provider, event_key) DO NOTHING",
            (provider, event_key, _now(), body, event_json),
        )
        row = conn.execute(
            "SELECT state FROM payplane_postbacks WHERE provider = %s AND event_key = %s",
            (provider, event_key),
        ).fetchone()
        if row is None:  # pragma: no cover - inserted or present just above
            raise LookupError((provider, event_key))
        return RecordState(row[0])

    def reject(self, provider: str, body: bytes, error: str) -> None:
        self._conn().execute(
            "INSERT INTO payplane_rejected (provider, received_at, error, body)"
            " VALUES (%s, %s, %s, %s)",
            (provider, _now(), error, body[:REJECTED_BODY_LIMIT]),
        )

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_SqlApply]:
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
                conn,
                placeholder="%s",
                provider=provider,
                event_key=event_key,
                state=RecordState(row[0]),
            )

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
                " WHERE provider = %s AND event_key = %s",
                (provider, event_key),
            )
            .fetchone()
        )
        return None if row is None else sql_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        state_value = state.value if state else None
        rows = (
            self._conn()
            .execute(
                f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
                " WHERE (%s::text IS NULL OR state = %s) AND (%s::text IS NULL OR provider = %s)"
                " ORDER BY id DESC LIMIT %s",
                (state_value, state_value, provider, provider, limit),
            )
            .fetchall()
        )
        return [sql_record(row) for row in rows]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        rows = (
            self._conn()
            .execute(
                "SELECT provider, received_at, error, body FROM payplane_rejected"
                " ORDER BY id DESC LIMIT %s",
                (limit,),
            )
            .fetchall()
        )
        return [
            RejectedPostback(provider=p, received_at=t, error=e, body=bytes(b))
            for p, t, e, b in rows
        ]

    def close(self) -> None:
        """Close every connection this store opened in this process (at shutdown)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            if not conn.closed:
                conn.close()
