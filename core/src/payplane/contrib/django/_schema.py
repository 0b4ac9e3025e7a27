"""The inbox tables in a Django database: the app's migration runs this.

The statements are :class:`~payplane.SQLiteStore`'s and :class:`~payplane.PostgresStore`'s
own (their ``_CREATE`` and ``MIGRATIONS``), run through Django's connection inside the
migration's transaction, with the stores' version bookkeeping in ``payplane_schema``:
a database a payplane store created (or migrated) already is left as it is, an older
one is brought to version 2, and a newer one is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payplane._inbox import _postgres as pg
from payplane._inbox import _sqlite as lite
from payplane._inbox._sql import TABLES, _newer_schema
from payplane._inbox._store import SCHEMA_VERSION

__all__ = ["create_tables", "drop_tables"]


def create_tables(connection: Any) -> None:  # noqa: ANN401 - a Django DatabaseWrapper
    """Create payplane's tables on *connection* (SQLite or PostgreSQL), or migrate them.

    Raises:
        ConfigurationError: the database holds a newer schema than this payplane knows.
        django.db.NotSupportedError: the database is neither SQLite nor PostgreSQL.
    """
    from django.db import NotSupportedError  # noqa: PLC0415 - Django is the caller's

    create: tuple[str, ...]
    migrations: Mapping[int, tuple[str, ...]]
    if connection.vendor == "sqlite":
        create, migrations = lite._CREATE, lite.MIGRATIONS  # noqa: SLF001
    elif connection.vendor == "postgresql":
        create, migrations = pg._CREATE, pg.MIGRATIONS  # noqa: SLF001
    else:
        msg = f"payplane's inbox tables need SQLite or PostgreSQL, not {connection.vendor}"
        raise NotSupportedError(msg)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Serialises creation with PostgresStore instances starting at the same time.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [pg._MIGRATION_LOCK])  # noqa: SLF001
        cursor.execute("CREATE TABLE IF NOT EXISTS payplane_schema (version INTEGER NOT NULL)")
        cursor.execute("SELECT MAX(version) FROM payplane_schema")
        version = cursor.fetchone()[0]
        _newer_schema(version, f"database {connection.alias!r}", "using")
        if version is None:
            for statement in create:
                cursor.execute(statement)  # literal DDL: no parameters, no % to escape
            cursor.execute("INSERT INTO payplane_schema (version) VALUES (%s)", [SCHEMA_VERSION])
            return
        while version < SCHEMA_VERSION:
            for statement in migrations[version]:
                cursor.execute(statement)
            version += 1
            cursor.execute("UPDATE payplane_schema SET version = %s", [version])


def drop_tables(connection: Any) -> None:  # noqa: ANN401 - a Django DatabaseWrapper
    """Drop payplane's tables and every record in them (``migrate payplane zero``)."""
    with connection.cursor() as cursor:
        for table in reversed(TABLES):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
