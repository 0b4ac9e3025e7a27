"""``DjangoStore`` and the app's migration: the same tables as the SQLite and PostgreSQL
stores (each reads and applies what the other recorded), Django's transactions and
connections, the configuration errors."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import payplane_djangokit as kit
import payplane_storm as storm
import pytest

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError

django_db = kit.django_db

PROVIDER = "paykassma_wavepay"
TABLES = ("payplane_schema", "payplane_postbacks", "payplane_rejected")


def _raw_conninfo(alias: str) -> str:
    return os.environ[
        "PAYPLANE_DJANGO_POSTGRES" if alias == "postgres" else "PAYPLANE_DJANGO_FRESH_POSTGRES"
    ]


def _raw_store(alias: str, **kwargs: Any) -> payplane.Store:
    """payplane's own store (not Django's) on the database of *alias*."""
    if alias in {"default", "fresh_sqlite"}:
        env = "PAYPLANE_DJANGO_SQLITE" if alias == "default" else "PAYPLANE_DJANGO_FRESH_SQLITE"
        return payplane.SQLiteStore(os.environ[env], **kwargs)
    return payplane.PostgresStore(_raw_conninfo(alias), **kwargs)


def _raw_credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
    """The raw stores' handler: credit through the DB-API connection, in the same table."""
    conn = transaction.connection
    mark = "?" if conn.__class__.__module__ == "sqlite3" else "%s"
    conn.execute(
        f"INSERT INTO payplane_djangoproject_credit (event_key, amount) VALUES ({mark}, {mark})",  # noqa: S608
        (event.event_key, str(event.amount.amount)),
    )


def _inbox(store: payplane.Store, handler: Any = _raw_credit) -> payplane.Inbox:
    return payplane.Inbox(
        store,
        handler,
        providers={PROVIDER: storm.SETTINGS},
        registry=payplane.Registry(strict=True),
    )


def _sqlite_schema(path: str) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?)", TABLES
        ).fetchall()
    finally:
        conn.close()
    return set(rows)


def _pg_schema(conninfo: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(conninfo) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    return set(columns), set(indexes)


def test_migration_creates_the_stores_schema(
    django_db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``migrate`` creates exactly the tables and indexes payplane's own store creates."""
    if django_db == "default":
        store_made = str(tmp_path / "store.sqlite3")
        payplane.SQLiteStore(store_made).close()
        assert _sqlite_schema(os.environ["PAYPLANE_DJANGO_SQLITE"]) == _sqlite_schema(store_made)
    else:
        conninfo = request.getfixturevalue("postgres_conninfo")
        payplane.PostgresStore(conninfo).close()
        assert _pg_schema(_raw_conninfo("postgres")) == _pg_schema(conninfo)


def test_raw_store_reads_and_applies_on_django_tables(django_db: str) -> None:
    """What DjangoStore recorded, payplane's store reads and dedupes, and the other way."""
    from payplane_djangoproject import payments  # noqa: PLC0415

    django_inbox = payments.make_inbox(django_db)
    for index in (1, 2):
        assert django_inbox.receive(PROVIDER, storm.postback(index), {}).status_code == 200
    raw = _raw_store(django_db, create=False)
    try:
        raw_inbox = _inbox(raw)
        assert raw_inbox.records() == django_inbox.records()
        # A repeat through the raw store is not applied again; a new event is.
        for index in (2, 3):
            assert raw_inbox.receive(PROVIDER, storm.postback(index), {}).status_code == 200
        record = django_inbox.get(PROVIDER, storm.event_key(3))
        assert record is not None
        assert record.state is RecordState.APPLIED
        # ... and a repeat of it through Django is not applied again either.
        assert django_inbox.receive(PROVIDER, storm.postback(3), {}).status_code == 200
        assert raw_inbox.records() == django_inbox.records()
    finally:
        raw.close()
    assert kit.credit_counts(django_db) == {storm.event_key(i): 1 for i in (1, 2, 3)}


@pytest.mark.parametrize(
    "alias",
    [
        pytest.param("fresh_sqlite", id="sqlite"),
        pytest.param("fresh_postgres", id="postgres", marks=kit.databases()[1].marks),
    ],
)
def test_migrate_adopts_tables_a_store_created(alias: str) -> None:
    """``migrate payplane`` on a database payplane's store set up keeps its records."""
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connections  # noqa: PLC0415

    from payplane.contrib.django import DjangoStore  # noqa: PLC0415

    kit.setup()
    raw = _raw_store(alias)
    try:
        assert (
            _inbox(raw, lambda _e, _t: None).receive(PROVIDER, storm.postback(4), {}).status_code
            == 200
        )
    finally:
        raw.close()
    call_command("migrate", "payplane", database=alias, verbosity=0)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT version FROM payplane_schema")
        assert cursor.fetchall() == [(2,)]
    inbox = _inbox(DjangoStore(alias), lambda _e, _t: None)
    try:
        record = inbox.get(PROVIDER, storm.event_key(4))
        assert record is not None
        assert record.state is RecordState.APPLIED
        # fresh_sqlite runs with transaction_mode IMMEDIATE: applying works there too.
        assert inbox.receive(PROVIDER, storm.postback(5), {}).status_code == 200
        assert [r.event_key for r in inbox.records()] == [storm.event_key(i) for i in (5, 4)]
    finally:
        connections[alias].close()


def test_handler_runs_in_the_django_transaction(django_db: str) -> None:
    """The handler gets this thread's Django connection, inside the store's atomic block."""
    from django.db import connections  # noqa: PLC0415

    from payplane.contrib.django import DjangoStore  # noqa: PLC0415

    seen: list[tuple[bool, bool]] = []

    def handler(event: PostbackEvent, transaction: InboxTransaction) -> None:
        conn = transaction.connection
        seen.append((conn is connections[django_db], conn.in_atomic_block))

    inbox = _inbox(DjangoStore(django_db), handler)
    assert inbox.receive(PROVIDER, storm.postback(6), {}).status_code == 200
    assert seen == [(True, True)]


def test_refused_inside_atomic(django_db: str) -> None:
    """Inside ``transaction.atomic`` the store refuses: an acknowledged event must be committed."""
    from django.db import transaction  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    inbox = payments.make_inbox(django_db)
    with transaction.atomic(using=django_db):
        answer = inbox.receive(PROVIDER, storm.postback(7), {})
        with pytest.raises(RuntimeError, match=r"call the inbox outside transaction\.atomic"):
            inbox.store.record(_new_record(inbox), RecordState.RECEIVED, wait=1.0)
    assert answer.status_code != 200
    assert inbox.records() == []


def _new_record(inbox: payplane.Inbox) -> Any:
    from payplane._inbox._store import EventRef, NewRecord  # noqa: PLC0415

    return NewRecord(
        ref=EventRef(PROVIDER, "", "ingoing:manual"),
        kind="deposit",
        body=b"{}",
        event_json="{}",
        headers_json="{}",
    )


def test_worker_thread_connection_is_closed(django_db: str) -> None:
    """A connection the store opened in a thread of its own is closed after each delivery."""
    from django.db import connections  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    inbox = payments.make_inbox(django_db)
    after: list[object] = []

    def deliver() -> None:
        inbox.receive(PROVIDER, storm.postback(8), {})
        after.append(connections[django_db].connection)

    thread = threading.Thread(target=deliver)
    thread.start()
    thread.join()
    assert after == [None]

    async def deliver_async() -> object:
        answer = await inbox.receive_async(PROVIDER, storm.postback(9), {})
        assert answer.status_code == 200
        return await asyncio.to_thread(lambda: connections[django_db].connection)

    assert asyncio.run(deliver_async()) is None
    assert kit.credit_counts(django_db) == {storm.event_key(8): 1, storm.event_key(9): 1}


def test_open_connection_is_left_to_django(django_db: str) -> None:
    """A connection that was open before (a request's) stays open after a delivery."""
    from django.db import connections  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    inbox = payments.make_inbox(django_db)
    connections[django_db].ensure_connection()
    opened = connections[django_db].connection
    assert inbox.receive(PROVIDER, storm.postback(10), {}).status_code == 200
    assert connections[django_db].connection is opened


def test_unknown_alias_is_refused() -> None:
    """An alias not in ``settings.DATABASES`` is a ConfigurationError naming ``using``."""
    from payplane.contrib.django import DjangoStore  # noqa: PLC0415

    kit.setup()
    with pytest.raises(ConfigurationError, match="using must name a database") as raised:
        DjangoStore("nowhere")
    assert raised.value.field == "using"


def test_missing_inbox_setting_is_refused() -> None:
    """``get_inbox()`` without ``PAYPLANE_INBOX`` says what to set."""
    from django.test import override_settings  # noqa: PLC0415

    from payplane.contrib.django import get_inbox  # noqa: PLC0415

    kit.setup()
    with (
        override_settings(PAYPLANE_INBOX=None),
        pytest.raises(ConfigurationError, match="PAYPLANE_INBOX must be the dotted path"),
    ):
        get_inbox()
    with (
        override_settings(PAYPLANE_INBOX="payplane_storm.SETTINGS"),
        pytest.raises(
            ConfigurationError, match=r"must name a payplane\.Inbox or a function returning one"
        ),
    ):
        get_inbox()


def test_inbox_factory_that_raises_is_named() -> None:
    """A factory (or module) raising while loading is a ConfigurationError naming the setting.

    A bare ``KeyError('PAYKASSMA_...')`` would say nothing of where it came from.
    """
    from django.test import override_settings  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    from payplane.contrib.django import get_inbox  # noqa: PLC0415

    kit.setup()
    with (
        override_settings(PAYPLANE_INBOX=payments.BROKEN),
        pytest.raises(ConfigurationError) as raised,
    ):
        get_inbox()
    assert raised.value.field == "PAYPLANE_INBOX"
    assert raised.value.message == (
        f"settings.PAYPLANE_INBOX = {payments.BROKEN!r}: calling it raised "
        "KeyError: 'PAYKASSMA_POSTBACK_ACCESS_KEY'"
    )
    assert isinstance(raised.value.__cause__, KeyError)


def test_models_match_the_migration() -> None:
    """``makemigrations --check`` finds nothing to write: models and migration agree."""
    from django.core.management import call_command  # noqa: PLC0415

    kit.setup()
    call_command("makemigrations", "payplane", check=True, dry_run=True, verbosity=0)


def test_missing_django_names_the_extra() -> None:
    """Importing the app without Django names the extra that installs it."""
    code = "import sys; sys.modules['django'] = None; import payplane.contrib.django"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'ImportError: payplane.contrib.django needs Django: pip install "payplane[django]"'
    )
