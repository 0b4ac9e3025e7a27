"""The Django test project, set up once per test process, and its database fixtures.

``setup()`` points the project's settings at a SQLite file of the session (and, with
``PAYPLANE_TEST_POSTGRES_DSN``, at a PostgreSQL schema of the session), configures
Django and migrates every database. The ``django_db`` fixture gives a test one of them,
emptied first: ``"default"`` (SQLite) or ``"postgres"``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

DSN_ENV = "PAYPLANE_TEST_POSTGRES_DSN"
_schemas: list[str] = []


def _schema(dsn: str) -> str:
    import psycopg  # noqa: PLC0415
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    schema = f"dj_{uuid.uuid4().hex}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    _schemas.append(schema)
    return make_conninfo(dsn, options=f"-csearch_path={schema}")


def _drop_schemas() -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(os.environ[DSN_ENV], autocommit=True) as conn:
        for schema in _schemas:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def setup() -> None:
    """Configure the test project once per process and migrate its databases."""
    import django  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    if settings.configured:
        return
    if "PAYPLANE_DJANGO_SQLITE" not in os.environ:
        where = tempfile.mkdtemp(prefix="payplane-django-")
        atexit.register(shutil.rmtree, where, ignore_errors=True)
        os.environ["PAYPLANE_DJANGO_SQLITE"] = os.path.join(where, "project.sqlite3")  # noqa: PTH118
        os.environ["PAYPLANE_DJANGO_FRESH_SQLITE"] = os.path.join(where, "fresh.sqlite3")  # noqa: PTH118
        dsn = os.environ.get(DSN_ENV)
        if dsn:
            os.environ["PAYPLANE_DJANGO_POSTGRES"] = _schema(dsn)
            os.environ["PAYPLANE_DJANGO_FRESH_POSTGRES"] = _schema(dsn)
            atexit.register(_drop_schemas)
    os.environ["DJANGO_SETTINGS_MODULE"] = "payplane_djangoproject.settings"
    try:
        django.setup()
    finally:
        # Configured now; other tests' subprocesses (a Celery worker, whose Django
        # fixup would load this project) must not inherit it.
        del os.environ["DJANGO_SETTINGS_MODULE"]
    from django.core.management import call_command  # noqa: PLC0415

    for alias in ("default", "postgres"):
        if alias in settings.DATABASES:
            call_command("migrate", database=alias, verbosity=0)


def databases() -> list[Any]:
    """The ``django_db`` parameters: SQLite, and PostgreSQL (skipped without a server)."""
    postgres_marks = (
        []
        if os.environ.get(DSN_ENV) or os.environ.get("CI")
        else [pytest.mark.skip(reason=f"{DSN_ENV} is not set")]
    )
    return [
        pytest.param("default", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=postgres_marks),
    ]


def wipe(alias: str) -> None:
    """Empty the inbox and the credits of database *alias*, and the project's users."""
    from django.db import connections  # noqa: PLC0415

    tables = {
        alias: ["payplane_postbacks", "payplane_rejected", "payplane_djangoproject_credit"],
    }
    tables.setdefault("default", []).extend(
        ["auth_user_user_permissions", "auth_user", "django_session"]
    )
    for where, names in tables.items():
        with connections[where].cursor() as cursor:
            for table in names:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
        connections[where].close()


@pytest.fixture(params=databases())
def django_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of the test project, emptied: its alias."""
    alias: str = request.param
    setup()
    from django.conf import settings  # noqa: PLC0415

    if alias not in settings.DATABASES:
        pytest.fail(f"{DSN_ENV} is not set: the PostgreSQL database is missing")
    from payplane_djangoproject import payments  # noqa: PLC0415

    payments.reset()
    wipe(alias)
    yield alias
    payments.reset()
    from django.db import connections  # noqa: PLC0415

    connections.close_all()


def credit_counts(alias: str) -> dict[str, int]:
    """Event key -> number of credit rows, on *alias*."""
    from django.db.models import Count  # noqa: PLC0415
    from payplane_djangoproject.models import Credit  # noqa: PLC0415

    rows = Credit.objects.using(alias).values("event_key").annotate(n=Count("id"))
    return {row["event_key"]: row["n"] for row in rows}
