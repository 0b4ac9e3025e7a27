"""Dead database connections: a delivery is answered right, nothing lost, nothing doubled.

On PostgreSQL the store's server processes are terminated (``pg_terminate_backend``, what a
restart or a failover does to a client); on SQLite connections are closed under the store
and the file is removed. The handler credits through the inbox's transaction, into a table
without a unique constraint, so a double application would show as two rows.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import payplane_inboxkit as kit
import pytest

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError


class Creditor:
    """Credits each event through the inbox's transaction; runs *before_return* first."""

    def __init__(self) -> None:
        self.calls = 0
        self.before_return: Callable[[InboxTransaction], None] | None = None

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Credit *event*; then, once, whatever the test injected."""
        self.calls += 1
        conn = transaction.connection
        mark = "?" if isinstance(conn, sqlite3.Connection) else "%s"
        conn.execute(f"INSERT INTO credits (event_key) VALUES ({mark})", (event.event_key,))  # noqa: S608
        inject, self.before_return = self.before_return, None
        if inject is not None:
            inject(transaction)


def _credits(store: payplane.Store) -> dict[str, int]:
    sql = "SELECT event_key, COUNT(*) FROM credits GROUP BY event_key"
    if isinstance(store, payplane.SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            return dict(conn.execute(sql).fetchall())
    import psycopg  # noqa: PLC0415

    with psycopg.connect(store.test_conninfo) as conn:  # type: ignore[attr-defined]
        return dict(conn.execute(sql).fetchall())


def _create_credits(store: payplane.Store) -> None:
    sql = "CREATE TABLE credits (event_key TEXT NOT NULL)"
    if isinstance(store, payplane.SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            conn.execute(sql)
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(store.test_conninfo, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(sql)


@pytest.fixture
def pg_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.PostgresStore]:
    """A PostgreSQL store connecting under its own application_name, with a credits table."""
    store = kit.make_store("postgres", tmp_path, request)
    assert isinstance(store, payplane.PostgresStore)
    _create_credits(store)
    yield store
    store.close()


def _kill(store: payplane.PostgresStore) -> None:
    assert kit.terminate_backends(store.test_application_name)  # type: ignore[attr-defined]


def _inbox(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> tuple[payplane.Inbox, Creditor]:
    creditor = Creditor()
    return kit.fake_inbox(store, registry, settings, creditor), creditor


# -- PostgreSQL ------------------------------------------------------------------------------


def test_new_event_after_backends_terminated(
    pg_store: payplane.PostgresStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Every pooled connection killed: the next new event is applied and acknowledged."""
    inbox, _ = _inbox(pg_store, registry, settings)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    _kill(pg_store)
    assert inbox.receive("fakepsp", *kit.delivery("d2")).status_code == 204
    assert _credits(pg_store) == {"deposit:d1:paid": 1, "deposit:d2:paid": 1}


def test_repeat_of_applied_event_after_backends_terminated(
    pg_store: payplane.PostgresStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A re-delivery of an applied event after a restart: 'ok', handler not run again."""
    inbox, creditor = _inbox(pg_store, registry, settings)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    _kill(pg_store)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 1
    assert _credits(pg_store) == {"deposit:d1:paid": 1}


def test_reads_and_rejections_after_backends_terminated(
    pg_store: payplane.PostgresStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The read side and the keeping of a forged delivery survive a restart too."""
    inbox, _ = _inbox(pg_store, registry, settings)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    _kill(pg_store)
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.state is RecordState.APPLIED
    _kill(pg_store)
    assert [r.event_key for r in inbox.records()] == ["deposit:d1:paid"]
    _kill(pg_store)
    body, _ = kit.delivery("d2")
    assert inbox.receive("fakepsp", body, {"x-signature": "0" * 64}).status_code == 400
    _kill(pg_store)
    assert [r.body for r in inbox.rejected()] == [body]


def test_connection_lost_inside_handler_is_applied_once(
    pg_store: payplane.PostgresStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The connection dies while the handler runs: its work rolls back, the retry applies once."""
    inbox, creditor = _inbox(pg_store, registry, settings)
    creditor.before_return = lambda tx: kit.terminate_backend(tx.connection.info.backend_pid)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 2
    assert _credits(pg_store) == {"deposit:d1:paid": 1}
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert (record.state, record.attempts) == (RecordState.APPLIED, 1)


def test_handler_failure_recorded_when_its_connection_died(
    pg_store: payplane.PostgresStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A handler that raises on a dead connection: recorded as failed, 'send again', not 500."""
    calls: list[int] = []

    def failing(event: PostbackEvent, transaction: InboxTransaction) -> None:
        calls.append(1)
        if len(calls) == 1:
            kit.terminate_backend(transaction.connection.info.backend_pid)
        msg = "handler failure"
        raise ValueError(msg)

    inbox = kit.fake_inbox(pg_store, registry, settings, failing)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert (record.state, record.attempts, record.last_error) == (
        RecordState.FAILED,
        1,
        "ValueError: handler failure",
    )


class _CommitFault:
    """Wraps a psycopg connection: the apply's COMMIT loses its connection, once.

    *reaches_server* decides whether the COMMIT is executed before the connection dies
    (the answer is lost: the outcome is unknown to the client) or not at all.
    """

    def __init__(self, conn: Any, armed: list[bool], *, reaches_server: bool) -> None:
        self._conn = conn
        self._armed = armed
        self._reaches_server = reaches_server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, query: str, *args: Any) -> Any:
        if query != "COMMIT" or not self._armed:
            return self._conn.execute(query, *args)
        self._armed.pop()
        if self._reaches_server:
            self._conn.execute("COMMIT")
        kit.terminate_backend(self._conn.info.backend_pid)
        return self._conn.execute("SELECT 1")  # fails: the connection is gone


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        # psycopg raises this as soon as the socket is gone, before the connection reads
        # as broken: a race the COMMIT test below sometimes lost.
        ("connection socket closed", True),
        ("server closed the connection unexpectedly", True),
    ],
)
def test_a_client_side_connection_error_is_a_lost_connection(
    pg_store: payplane.PostgresStore, error: str, lost: bool
) -> None:
    """An OperationalError with no SQLSTATE means the connection failed, even while the
    connection object still reads as usable; a lock timeout or a cancelled statement
    on a live connection does not."""
    import psycopg  # noqa: PLC0415 - the PostgreSQL tests only

    conn, token = pg_store._acquire()
    try:
        assert not conn.broken
        assert pg_store._lost(psycopg.OperationalError(error), conn) is lost
        for usable in (psycopg.errors.LockNotAvailable(), psycopg.errors.QueryCanceled()):
            assert pg_store._lost(usable, conn) is False
        assert pg_store._lost(psycopg.errors.AdminShutdown(), conn) is True
    finally:
        pg_store._release(conn, token, lost=False)


@pytest.mark.parametrize("reaches_server", [True, False], ids=["committed", "not-committed"])
def test_commit_whose_answer_is_lost(
    reaches_server: bool,
    pg_store: payplane.PostgresStore,
    registry: payplane.Registry,
    settings: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """COMMIT sent and the connection lost: the recorded state decides; applied exactly once."""
    inbox, creditor = _inbox(pg_store, registry, settings)
    real_acquire, real_release = pg_store._acquire, pg_store._release
    armed = [True]

    def acquire() -> tuple[Any, Any]:
        conn, token = real_acquire()
        if armed:
            return _CommitFault(conn, armed, reaches_server=reaches_server), token
        return conn, token

    def release(conn: Any, token: Any, *, lost: bool) -> None:
        real_release(conn._conn if isinstance(conn, _CommitFault) else conn, token, lost=lost)

    monkeypatch.setattr(pg_store, "_acquire", acquire)
    monkeypatch.setattr(pg_store, "_release", release)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert _credits(pg_store) == {"deposit:d1:paid": 1}
    # Committed: the retry found it applied and did not run the handler again.
    assert creditor.calls == (1 if reaches_server else 2)


def test_tables_created_when_the_connection_dies_mid_migration(
    postgres_conninfo: str,
) -> None:
    """The connection is killed between two CREATE statements: one retry creates them all."""
    kills = [1]

    class Flaky(payplane.PostgresStore):
        def _schema_statement(self, conn: Any, statement: str) -> None:
            super()._schema_statement(conn, statement)
            if kills:
                kills.pop()
                kit.terminate_backend(conn.info.backend_pid)

    store = Flaky(postgres_conninfo)
    try:
        assert store.records() == []
        assert store.rejected() == []
    finally:
        store.close()


def test_migration_that_keeps_dying_is_a_configuration_error(postgres_conninfo: str) -> None:
    """Killed on every attempt: a ConfigurationError saying so, not a psycopg traceback."""

    class Doomed(payplane.PostgresStore):
        def _schema_statement(self, conn: Any, statement: str) -> None:
            kit.terminate_backend(conn.info.backend_pid)
            super()._schema_statement(conn, statement)

    with pytest.raises(ConfigurationError, match="cannot create payplane's inbox tables") as info:
        Doomed(postgres_conninfo)
    assert info.value.field == "conninfo"


def test_unreachable_database_is_a_configuration_error() -> None:
    """Nothing listens: a ConfigurationError naming conninfo, at once."""
    with pytest.raises(ConfigurationError, match="cannot create") as info:
        payplane.PostgresStore("host=127.0.0.1 port=1 user=nobody dbname=nothing", timeout=2)
    assert info.value.field == "conninfo"


def test_database_down_during_delivery_asks_for_a_resend(
    pg_store: payplane.PostgresStore,
    registry: payplane.Registry,
    settings: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No connection to be had: a delivery gets 'send again'; an operator a ConnectionError."""
    inbox, creditor = _inbox(pg_store, registry, settings)

    def no_connection() -> Any:
        msg = "no PostgreSQL connection within 10 seconds"
        raise payplane._inbox._store.StoreUnavailableError(msg)

    monkeypatch.setattr(pg_store, "_acquire", no_connection)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    body, _ = kit.delivery("d2")
    assert inbox.receive("fakepsp", body, {"x-signature": "0" * 64}).status_code == 503
    assert creditor.calls == 0
    # An operator's read is told plainly.
    with pytest.raises(ConnectionError, match="no PostgreSQL connection"):
        inbox.records()


# -- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[payplane.SQLiteStore]:
    """An SQLite store with a credits table."""
    store = payplane.SQLiteStore(tmp_path / "inbox.sqlite3")
    _create_credits(store)
    yield store
    store.close()


def test_sqlite_connection_closed_by_another_thread_between_deliveries(
    sqlite_store: payplane.SQLiteStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """close() from another thread: this thread's next delivery opens a fresh connection."""
    inbox, _ = _inbox(sqlite_store, registry, settings)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    closer = threading.Thread(target=sqlite_store.close)
    closer.start()
    closer.join()
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.receive("fakepsp", *kit.delivery("d2")).status_code == 204
    assert _credits(sqlite_store) == {"deposit:d1:paid": 1, "deposit:d2:paid": 1}


def test_sqlite_connection_closed_inside_handler_is_applied_once(
    sqlite_store: payplane.SQLiteStore, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The store closed (by another thread) while the handler runs: one retry, one credit."""
    inbox, creditor = _inbox(sqlite_store, registry, settings)

    def close_elsewhere(transaction: InboxTransaction) -> None:
        closer = threading.Thread(target=sqlite_store.close)
        closer.start()
        closer.join()

    creditor.before_return = close_elsewhere
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 2
    assert _credits(sqlite_store) == {"deposit:d1:paid": 1}


def test_sqlite_file_removed_asks_for_resend_and_creates_nothing(
    sqlite_store: payplane.SQLiteStore,
    registry: payplane.Registry,
    settings: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database file removed under the store: 'send again', and no empty file appears."""
    inbox, creditor = _inbox(sqlite_store, registry, settings)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_store.path}{suffix}").unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR, logger="payplane.inbox"):
        assert inbox.receive("fakepsp", *kit.delivery("d2")).status_code == 503
    assert not sqlite_store.path.exists()
    assert creditor.calls == 1
    assert any("lost the database connection applying" in r.getMessage() for r in caplog.records)
