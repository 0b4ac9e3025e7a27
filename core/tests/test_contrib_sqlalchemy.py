"""SQLAlchemyStore: ORM writes commit with the "applied" mark, on SQLite and PostgreSQL.

The handler adds a ``Credit`` row through ``payplane.contrib.sqlalchemy.session``, into
a table without a unique constraint, so a double application shows as two rows. The
storms are in ``tests/test_inbox_storm_sqlalchemy.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import payplane_inboxkit as kit
import payplane_sakit as sakit
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState
from payplane.contrib.sqlalchemy import SQLAlchemyStore, session
from payplane.exceptions import ConfigurationError

KEY = "deposit:d1:paid"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database holding the platform's credits table."""
    engine = sakit.make_engine(request.param, tmp_path, request)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A PostgreSQL engine under an application_name of its own."""
    engine = sakit.make_engine("postgres", tmp_path, request)
    yield engine
    engine.dispose()


def _inbox(
    engine: sa.Engine,
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: object,
    **kwargs: object,
) -> payplane.Inbox:
    return kit.fake_inbox(SQLAlchemyStore(engine), registry, settings, handler, **kwargs)


def _state(inbox: payplane.Inbox, key: str = KEY) -> tuple[RecordState, int] | None:
    record = inbox.get("fakepsp", key)
    return None if record is None else (record.state, record.attempts)


# -- exactly once through the ORM --------------------------------------------------------------


def test_added_objects_commit_with_the_applied_mark(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A handler that only adds an object: written with the mark, no commit() needed."""
    calls: list[str] = []

    def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
        calls.append(event.event_key)
        session(transaction).add(sakit.Credit(event_key=event.event_key, amount="10.5"))

    inbox = _inbox(engine, registry, settings, credit)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert calls == [KEY]
    assert sakit.credit_counts(engine) == {KEY: 1}
    assert _state(inbox) == (RecordState.APPLIED, 1)


def test_handler_failure_rolls_back_its_orm_writes(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Rows flushed, even committed through the session, vanish when the handler raises."""

    def failing(event: PostbackEvent, transaction: InboxTransaction) -> None:
        orm = session(transaction)
        orm.add(sakit.Credit(event_key=event.event_key, amount="10.5"))
        orm.commit()  # only ends the session's savepoint: nothing durable yet
        msg = "handler failure"
        raise ValueError(msg)

    inbox = _inbox(engine, registry, settings, failing)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    assert sakit.credit_counts(engine) == {}
    record = inbox.get("fakepsp", KEY)
    assert record is not None
    assert (record.state, record.last_error) == (RecordState.FAILED, "ValueError: handler failure")


def test_failed_event_is_applied_once_by_the_next_delivery(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """After a failed first attempt the PSP's re-send applies the event: one row."""
    creditor = sakit.OrmCreditor(fails_first=lambda _key: True)
    inbox = _inbox(engine, registry, settings, creditor)
    answers = [inbox.receive("fakepsp", *kit.delivery("d1")).status_code for _ in range(3)]
    assert answers == [503, 204, 204]
    assert sakit.credit_counts(engine) == {KEY: 1}
    assert _state(inbox) == (RecordState.APPLIED, 2)


def test_deferred_worker_writes_through_the_orm_once(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Deferred mode: a failing first attempt rolls back; the worker's retry writes one row."""
    creditor = sakit.OrmCreditor(fails_first=lambda _key: True)
    backoff = payplane.Backoff(initial=0.01, maximum=0.01, jitter=0)
    inbox = _inbox(engine, registry, settings, creditor, mode="deferred", backoff=backoff)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.work(max_events=1, idle_wait=0.01) == payplane.WorkSummary(failed=1)
    assert sakit.credit_counts(engine) == {}
    assert inbox.work(max_events=1, idle_wait=0.01) == payplane.WorkSummary(applied=1)
    assert inbox.work(until_idle=True, idle_wait=0.01) == payplane.WorkSummary()
    assert sakit.credit_counts(engine) == {KEY: 1}
    assert _state(inbox) == (RecordState.APPLIED, 2)


def test_task_queue_apply_writes_through_the_orm_once(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Inbox.apply (a task's body), run twice for one event: one row."""
    creditor = sakit.OrmCreditor()
    inbox = _inbox(engine, registry, settings, creditor, mode="deferred")
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.apply("fakepsp", KEY) is RecordState.APPLIED
    assert inbox.apply("fakepsp", KEY) is RecordState.APPLIED
    assert (creditor.calls, sakit.credit_counts(engine)) == (1, {KEY: 1})


def test_session_is_one_per_run_on_the_applying_connection(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """session(transaction) is one Session per handler run, on transaction.connection."""
    seen: list[tuple[bool, bool, bool]] = []

    def look(event: PostbackEvent, transaction: InboxTransaction) -> None:
        del event
        first = session(transaction)
        seen.append(
            (
                isinstance(transaction.connection, sa.Connection),
                first is session(transaction),
                first.connection() is transaction.connection,
            )
        )

    inbox = _inbox(engine, registry, settings, look)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert seen == [(True, True, True)]


def test_session_factory_builds_the_session(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A sessionmaker given as session_factory makes the handler's session."""
    infos: list[object] = []

    def look(event: PostbackEvent, transaction: InboxTransaction) -> None:
        del event
        infos.append(session(transaction).info.get("made_by"))

    store = SQLAlchemyStore(engine, session_factory=sessionmaker(info={"made_by": "maker"}))
    inbox = kit.fake_inbox(store, registry, settings, look)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert infos == ["maker"]


def test_session_needs_a_sqlalchemy_store() -> None:
    """session() of another store's transaction is a TypeError saying what it needs."""
    with pytest.raises(TypeError, match="needs the transaction an inbox on a SQLAlchemyStore"):
        session(InboxTransaction(None))


# -- the same tables as the SQL stores -------------------------------------------------------


def _raw_store(engine: sa.Engine, tmp_path: Path) -> payplane.Store:
    if engine.dialect.name == "sqlite":
        return payplane.SQLiteStore(tmp_path / "app.sqlite3")
    return payplane.PostgresStore(engine.test_conninfo)  # type: ignore[attr-defined]


def test_raw_store_reads_what_the_sqlalchemy_store_wrote(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object], tmp_path: Path
) -> None:
    """Tables created and written by SQLAlchemyStore: SQLiteStore/PostgresStore read them."""
    inbox = _inbox(engine, registry, settings, sakit.OrmCreditor())
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.receive("fakepsp", b"{}", {"x-signature": "0" * 64}).status_code == 400
    raw = _raw_store(engine, tmp_path)
    try:
        assert raw.records() == inbox.records()
        assert raw.rejected() == inbox.rejected()
        # And the raw store's inbox deduplicates against them.
        again = kit.fake_inbox(raw, registry, settings, sakit.OrmCreditor())
        assert again.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    finally:
        raw.close()
    assert sakit.credit_counts(engine) == {KEY: 1}


def test_sqlalchemy_store_reads_what_the_raw_store_wrote(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object], tmp_path: Path
) -> None:
    """Tables created and written by SQLiteStore/PostgresStore: SQLAlchemyStore reads them."""
    raw = _raw_store(engine, tmp_path)
    try:
        first = kit.fake_inbox(raw, registry, settings, lambda _e, _t: None)
        assert first.receive("fakepsp", *kit.delivery("d1")).status_code == 204
        records = raw.records()
    finally:
        raw.close()
    creditor = sakit.OrmCreditor()
    inbox = _inbox(engine, registry, settings, creditor)
    assert inbox.records() == records
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 0
    assert SQLAlchemyStore(engine, create=False).records() == records


# -- lost connections (PostgreSQL: only this test's own backends are terminated) -------------


def _backend_pid(transaction: InboxTransaction) -> int:
    pid: int = transaction.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    return pid


def test_connection_lost_inside_handler_is_applied_once(
    pg_engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The applying connection dies after the ORM flush: rolled back, the retry writes once."""
    creditor = sakit.OrmCreditor()
    creditor.before_return = lambda tx: kit.terminate_backend(_backend_pid(tx))
    inbox = _inbox(pg_engine, registry, settings, creditor)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 2
    assert sakit.credit_counts(pg_engine) == {KEY: 1}
    assert _state(inbox) == (RecordState.APPLIED, 1)


def test_connection_lost_on_every_attempt_asks_for_a_resend(
    pg_engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Lost on the attempt and on its retry: 'send again', not 500; the re-send writes once."""
    creditor = sakit.OrmCreditor()

    def handler(event: PostbackEvent, transaction: InboxTransaction) -> None:
        if creditor.calls < 2:
            creditor.before_return = lambda tx: kit.terminate_backend(_backend_pid(tx))
        creditor(event, transaction)

    inbox = _inbox(pg_engine, registry, settings, handler)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    assert (sakit.credit_counts(pg_engine), inbox.get("fakepsp", KEY)) == ({}, None)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert creditor.calls == 3
    assert sakit.credit_counts(pg_engine) == {KEY: 1}


def test_pooled_connections_terminated_between_deliveries(
    pg_engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Every pooled connection killed (a restart): new events, repeats and reads go on."""
    creditor = sakit.OrmCreditor()
    inbox = _inbox(pg_engine, registry, settings, creditor)
    name = pg_engine.test_application_name  # type: ignore[attr-defined]
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert kit.terminate_backends(name)
    assert inbox.receive("fakepsp", *kit.delivery("d2")).status_code == 204
    assert kit.terminate_backends(name)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert kit.terminate_backends(name)
    assert [r.event_key for r in inbox.records()] == ["deposit:d2:paid", KEY]
    assert creditor.calls == 2
    assert sakit.credit_counts(pg_engine) == {KEY: 1, "deposit:d2:paid": 1}


# -- the engine stays the user's ------------------------------------------------------------------


def test_engine_keeps_its_isolation_level_for_other_uses(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The store's isolation level is its checkouts' only: later checkouts get the default."""
    with engine.connect() as conn:
        before = conn.get_isolation_level()
    inbox = _inbox(engine, registry, settings, sakit.OrmCreditor())
    for event_id in ("d1", "d2"):
        assert inbox.receive("fakepsp", *kit.delivery(event_id)).status_code == 204
    with engine.connect() as conn:
        assert conn.get_isolation_level() == before
        conn.execute(sa.insert(sakit.Credit).values(event_key="mine", amount="1"))
        conn.rollback()  # the user's transaction is a transaction: nothing autocommitted
    assert "mine" not in sakit.credit_counts(engine)


def test_engine_with_sqlalchemys_pysqlite_recipe(
    tmp_path: Path, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """An engine already set up with SQLAlchemy's documented pysqlite recipe works too."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'recipe.sqlite3'}")

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    sakit.Base.metadata.create_all(engine)
    creditor = sakit.OrmCreditor(fails_first=lambda _key: True)
    inbox = _inbox(engine, registry, settings, creditor)
    answers = [inbox.receive("fakepsp", *kit.delivery("d1")).status_code for _ in range(3)]
    assert answers == [503, 204, 204]
    assert sakit.credit_counts(engine) == {KEY: 1}
    engine.dispose()


def test_in_memory_sqlite_is_refused() -> None:
    """An in-memory SQLite engine is refused: each pooled connection has its own database."""
    with pytest.raises(ConfigurationError, match="needs a SQLite database file") as caught:
        SQLAlchemyStore(sa.create_engine("sqlite://"))
    assert caught.value.field == "engine"


def test_not_an_engine_is_refused(tmp_path: Path) -> None:
    """A Session (or anything but an Engine) is refused, naming the field."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with Session(engine) as orm, pytest.raises(ConfigurationError, match=r"sqlalchemy\.Engine"):
        SQLAlchemyStore(orm)  # type: ignore[arg-type]
    engine.dispose()


def test_create_false_refuses_a_database_without_inbox(engine: sa.Engine) -> None:
    """create=False writes no schema: a database without payplane's tables is refused."""
    with pytest.raises(ConfigurationError, match="no payplane inbox in this database"):
        SQLAlchemyStore(engine, create=False)
    assert "payplane_postbacks" not in sa.inspect(engine).get_table_names()


# -- operations -------------------------------------------------------------------------------


def test_rejected_deliveries_keep_the_newest(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """rejected_limit bounds the refused deliveries kept, newest first, in pages."""
    store = SQLAlchemyStore(engine, rejected_limit=2)
    inbox = kit.fake_inbox(store, registry, settings, sakit.OrmCreditor())
    for event_id in ("r1", "r2", "r3"):
        body, _ = kit.delivery(event_id)
        assert inbox.receive("fakepsp", body, {"x-signature": "0" * 64}).status_code == 400
    kept = inbox.rejected()
    assert [kit.delivery(i)[0] for i in ("r3", "r2")] == [r.body for r in kept]
    assert inbox.rejected(after=kept[0].id) == kept[1:]


def test_dead_event_requeued_then_pruned(
    engine: sa.Engine, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Dead after its attempts, re-queued, applied; then pruned once old enough."""
    creditor = sakit.OrmCreditor(fails_first=lambda _key: True)
    backoff = payplane.Backoff(initial=0.01, maximum=0.01, jitter=0)
    inbox = _inbox(
        engine, registry, settings, creditor, mode="deferred", max_attempts=1, backoff=backoff
    )
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert inbox.work(until_idle=True, idle_wait=0.01) == payplane.WorkSummary(dead=1)
    assert inbox.requeue("fakepsp", KEY) is RecordState.RECEIVED
    assert inbox.work(until_idle=True, idle_wait=0.01) == payplane.WorkSummary(applied=1)
    assert sakit.credit_counts(engine) == {KEY: 1}
    week = timedelta(days=7)
    assert inbox.prune(applied_older_than=week) == payplane.PruneResult(records=0, rejected=0)
    tiny = timedelta(microseconds=1)
    assert inbox.prune(applied_older_than=tiny, dry_run=True).records == 1
    assert inbox.prune(applied_older_than=tiny).records == 1
    assert inbox.records() == []


def test_import_without_sqlalchemy_names_the_extra() -> None:
    """Importing payplane.contrib.sqlalchemy without SQLAlchemy says which extra to install."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sqlalchemy"] = None
        try:
            import payplane.contrib.sqlalchemy
        except ModuleNotFoundError as exc:
            print(exc.name, exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == (
        "sqlalchemy payplane.contrib.sqlalchemy needs SQLAlchemy 2: "
        'pip install "payplane[sqlalchemy]"'
    )


def test_public_names_are_pinned() -> None:
    """payplane.contrib.sqlalchemy exports exactly its documented names, sorted, resolvable."""
    import payplane.contrib.sqlalchemy as module  # noqa: PLC0415

    assert module.__all__ == ["SQLAlchemyStore", "SessionFactory", "session"]
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_unreachable_database_is_a_configuration_error() -> None:
    """No server behind the engine: ConfigurationError naming the engine, password hidden."""
    engine = sa.create_engine(
        "postgresql+psycopg://payplane:not-a-real-password@127.0.0.1:1/none",
        connect_args={"connect_timeout": 1},
    )
    with pytest.raises(ConfigurationError, match="cannot create payplane's inbox") as caught:
        SQLAlchemyStore(engine)
    assert caught.value.field == "engine"
    assert "not-a-real-password" not in str(caught.value)
    engine.dispose()
