"""The inbox without its extras, and stores that must not write schema (``create=False``)."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

import payplane
from payplane.exceptions import ConfigurationError

WITHOUT_EXTRAS = """
import sys
for name in ("psycopg", "psycopg_pool", "starlette"):
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
from payplane import *
from payplane.exceptions import ConfigurationError
assert PostgresStore.__name__ == "PostgresStore"
assert postback_app.__name__ == "postback_app"
try:
    PostgresStore("dbname=x")
except ConfigurationError as exc:
    print(exc)
try:
    postback_app(Inbox(MemoryStore(), print, registry=Registry(autoload=False)))
except ConfigurationError as exc:
    print(exc)
"""


def test_star_import_and_missing_extras_say_what_to_install() -> None:
    """Without psycopg and Starlette: `import *` works; using them names the extra."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WITHOUT_EXTRAS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'PostgresStore needs the postgres extra: pip install "payplane[postgres]"',
        'postback_app needs Starlette: pip install "payplane[sandbox]"',
    ]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_create_false_refuses_a_missing_file_and_creates_none(tmp_path: Path) -> None:
    """No file: 'no payplane inbox in FILE', and still no file afterwards."""
    path = tmp_path / "absent.sqlite3"
    with pytest.raises(ConfigurationError, match=f"no payplane inbox in {path}") as info:
        payplane.SQLiteStore(path, create=False)
    assert info.value.field == "path"
    assert list(tmp_path.iterdir()) == []


def test_sqlite_create_false_never_writes_a_foreign_file(tmp_path: Path) -> None:
    """Another application's database: refused, and not a byte of it changed."""
    path = tmp_path / "other.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Aung')")
    before = _digest(path)
    with pytest.raises(ConfigurationError, match=f"no payplane inbox in {path}$"):
        payplane.SQLiteStore(path, create=False)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite3"]


def test_sqlite_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    """A text file: ConfigurationError with either create, never sqlite3.DatabaseError."""
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes " * 100)
    for create in (False, True):
        with pytest.raises(ConfigurationError, match=str(path)):
            payplane.SQLiteStore(path, create=create)


def test_sqlite_create_false_opens_an_existing_inbox(tmp_path: Path) -> None:
    """A payplane inbox opened with create=False reads and records as usual."""
    path = tmp_path / "inbox.sqlite3"
    payplane.SQLiteStore(path).close()
    store = payplane.SQLiteStore(path, create=False)
    try:
        assert store.records() == []
        store.reject("fakepsp", "", b"{}", "refused", "{}")
        assert [r.error for r in store.rejected()] == ["refused"]
    finally:
        store.close()


def _tables(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
        ]


def test_postgres_create_false_refuses_an_empty_database(postgres_conninfo: str) -> None:
    """No payplane tables: 'no payplane inbox in this database', and none created."""
    with pytest.raises(ConfigurationError, match="no payplane inbox in this database") as info:
        payplane.PostgresStore(postgres_conninfo, create=False)
    assert info.value.field == "conninfo"
    assert _tables(postgres_conninfo) == []


def test_postgres_create_false_opens_an_existing_inbox(postgres_conninfo: str) -> None:
    """Created once, then opened with create=False: it works."""
    payplane.PostgresStore(postgres_conninfo).close()
    store = payplane.PostgresStore(postgres_conninfo, create=False)
    try:
        assert store.records() == []
    finally:
        store.close()
    assert sorted(_tables(postgres_conninfo)) == [
        "payplane_postbacks",
        "payplane_rejected",
        "payplane_schema",
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"rejected_limit": -1}, "rejected_limit"),
    ],
)
def test_postgres_arguments_checked(arguments: dict[str, object], field: str) -> None:
    """Unusable store arguments are refused by name before any connection is made."""
    with pytest.raises(ConfigurationError, match=field) as info:
        payplane.PostgresStore("host=127.0.0.1 port=1", **arguments)  # type: ignore[arg-type]
    assert info.value.field == field
