"""Schema version 2: a version-1 inbox (made by the version-1 DDL) migrates in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import payplane_inboxkit as kit
import psycopg
import pytest

import payplane
from payplane import RecordState
from payplane._inbox._store import SCHEMA_VERSION
from payplane.exceptions import ConfigurationError

# The version-1 DDL, as payplane 0.1 created it (statements split on ";").
V1_SQLITE = """
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
INSERT INTO payplane_schema (version) VALUES (1)
"""

V1_POSTGRES = """
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
CREATE INDEX IF NOT EXISTS payplane_rejected_received_at ON payplane_rejected (received_at);
INSERT INTO payplane_schema (version) VALUES (1)
"""

EVENT = (
    '{"provider":"fakepsp","kind":"deposit","event_key":"deposit:%s:paid",'
    '"status":{"status":"succeeded","raw":"paid"},"amount":{"amount":"10.5","currency":"USD"},'
    '"customer_id":null,"reference":null,"occurred_at":null,"transactions":[],"raw":{}}'
)
ROWS = [
    # event id, state, attempts, applied, error
    ("v1a", "applied", 1, True, None),
    ("v1f", "failed", 1, False, "RuntimeError: boom"),
]


def _v1_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in V1_SQLITE.split(";"):
            conn.execute(statement)
        for name, state, attempts, applied, error in ROWS:
            conn.execute(
                "INSERT INTO payplane_postbacks (provider, event_key, state, attempts,"
                " received_at, applied_at, last_error, body, event)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "fakepsp",
                    f"deposit:{name}:paid",
                    state,
                    attempts,
                    "2025-01-02T03:04:05.000000+00:00",
                    "2025-01-02T03:04:06.000000+00:00" if applied else None,
                    error,
                    b"{}",
                    EVENT % name,
                ),
            )
        conn.execute(
            "INSERT INTO payplane_rejected (provider, received_at, error, body) VALUES"
            " ('fakepsp', '2025-01-02T03:04:05.000000+00:00', 'SignatureError: bad', x'7b7d')"
        )
        conn.commit()
    finally:
        conn.close()


def _v1_postgres(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in V1_POSTGRES.split(";"):
            conn.execute(statement)  # literal DDL
        for name, state, attempts, applied, error in ROWS:
            conn.execute(
                "INSERT INTO payplane_postbacks (provider, event_key, state, attempts,"
                " received_at, applied_at, last_error, body, event)"
                " VALUES (%s, %s, %s, %s, '2025-01-02 03:04:05+00', %s, %s, %s, %s)",
                (
                    "fakepsp",
                    f"deposit:{name}:paid",
                    state,
                    attempts,
                    "2025-01-02 03:04:06+00" if applied else None,
                    error,
                    b"{}",
                    EVENT % name,
                ),
            )
        conn.execute(
            "INSERT INTO payplane_rejected (provider, received_at, error, body)"
            " VALUES ('fakepsp', '2025-01-02 03:04:05+00', 'SignatureError: bad', '\\x7b7d')"
        )


@pytest.fixture(params=["sqlite", "postgres"])
def v1_database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A version-1 inbox holding an applied and a failed event and a refused delivery."""
    if request.param == "sqlite":
        path = tmp_path / "v1.sqlite3"
        _v1_sqlite(path)
        return "sqlite", str(path)
    conninfo: str = request.getfixturevalue("postgres_conninfo")
    _v1_postgres(conninfo)
    return "postgres", conninfo


def _open(spec: tuple[str, str], **kwargs: object) -> payplane.Store:
    kind, where = spec
    if kind == "sqlite":
        return payplane.SQLiteStore(where, **kwargs)  # type: ignore[arg-type]
    return payplane.PostgresStore(where, **kwargs)  # type: ignore[arg-type]


def _version(spec: tuple[str, str]) -> int:
    kind, where = spec
    if kind == "sqlite":
        conn = sqlite3.connect(where)
        try:
            (version,) = conn.execute("SELECT version FROM payplane_schema").fetchone()
        finally:
            conn.close()
        return int(version)
    with psycopg.connect(where) as pg:
        row = pg.execute("SELECT version FROM payplane_schema").fetchone()
    assert row is not None
    return int(row[0])


def test_version_1_is_migrated_in_place_keeping_every_record(
    v1_database: tuple[str, str],
) -> None:
    """Opening a v1 inbox migrates it to v2: same records, account '', kind filled."""
    store = _open(v1_database)
    try:
        assert _version(v1_database) == SCHEMA_VERSION == 2
        records = {r.event_key: r for r in store.records()}
        assert sorted(records) == ["deposit:v1a:paid", "deposit:v1f:paid"]
        applied, failed = records["deposit:v1a:paid"], records["deposit:v1f:paid"]
        assert (applied.state, applied.attempts, applied.account) == (RecordState.APPLIED, 1, "")
        assert (failed.state, failed.last_error) == (RecordState.FAILED, "RuntimeError: boom")
        assert applied.kind == "deposit"
        assert applied.headers == {}
        assert failed.next_attempt_at is None
        event = applied.event
        assert isinstance(event, payplane.PostbackEvent)
        assert event.amount == payplane.Money("10.5", "USD")
        [refused] = store.rejected()
        assert (refused.provider, refused.account, refused.error) == (
            "fakepsp",
            "",
            "SignatureError: bad",
        )
        assert refused.headers == {}
    finally:
        store.close()


def test_migrated_inbox_keeps_deduplicating_and_applies_what_waited(
    v1_database: tuple[str, str],
    registry: payplane.Registry,
    settings: dict[str, object],
) -> None:
    """After migration a re-delivered applied event is not run again; a failed one applies."""
    store = _open(v1_database)
    try:
        handler = kit.Recorder()
        inbox = kit.fake_inbox(store, registry, settings, handler)
        assert inbox.receive("fakepsp", *kit.delivery("v1a")).status_code == 204
        assert handler.events == []
        assert inbox.receive("fakepsp", *kit.delivery("v1f")).status_code == 204
        assert [e.event_key for e in handler.events] == ["deposit:v1f:paid"]
        record = inbox.get("fakepsp", "deposit:v1f:paid")
        assert record is not None
        assert (record.state, record.attempts) == (RecordState.APPLIED, 2)
    finally:
        store.close()


def test_migrated_key_includes_the_account(
    v1_database: tuple[str, str],
    registry: payplane.Registry,
    settings: dict[str, object],
) -> None:
    """The same event key under another account is another event after migration."""
    store = _open(v1_database)
    try:
        handler = kit.Recorder()
        inbox = payplane.Inbox(
            store, handler, accounts={"fakepsp": {"shop-b": settings}}, registry=registry
        )
        answer = inbox.receive("fakepsp", *kit.delivery("v1a"), account="shop-b")
        assert answer.status_code == 204
        assert [e.event_key for e in handler.events] == ["deposit:v1a:paid"]
        assert {(r.account, r.event_key) for r in store.records()} == {
            ("", "deposit:v1a:paid"),
            ("", "deposit:v1f:paid"),
            ("shop-b", "deposit:v1a:paid"),
        }
    finally:
        store.close()


def test_migration_runs_once(v1_database: tuple[str, str]) -> None:
    """A second opening finds version 2 and changes nothing."""
    _open(v1_database).close()
    store = _open(v1_database)
    try:
        assert _version(v1_database) == 2
        assert len(store.records()) == 2
    finally:
        store.close()


def test_create_false_refuses_a_version_1_inbox_without_writing(
    v1_database: tuple[str, str],
) -> None:
    """Operators' tools (create=False) never migrate: they say how to, and change nothing."""
    with pytest.raises(ConfigurationError, match="schema version 1; this payplane needs version 2"):
        _open(v1_database, create=False)
    assert _version(v1_database) == 1


def test_a_version_1_non_payment_event_left_received_becomes_ignored(tmp_path: Path) -> None:
    """Version 1 recorded a verified non-payment event and left it received: now ignored."""
    path = tmp_path / "v1.sqlite3"
    _v1_sqlite(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO payplane_postbacks (provider, event_key, state, received_at, body, event)"
            " VALUES ('fakepsp', 'dispute:1', 'received', '2025-01-02T03:04:05.000000+00:00',"
            " x'7b7d', ?)",
            ('{"provider":"fakepsp","kind":"other","event_key":"dispute:1"}',),
        )
    conn.close()
    store = payplane.SQLiteStore(path)
    try:
        record = store.get(payplane._inbox._store.EventRef("fakepsp", "", "dispute:1"))
        assert record is not None
        assert record.state is RecordState.IGNORED
        assert record.applied_at == record.received_at
        states = sorted(r.state.value for r in store.records())
        assert states == ["applied", "failed", "ignored"]
    finally:
        store.close()
