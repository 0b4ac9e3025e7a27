"""Helpers for the SQLAlchemy store's tests: engines on SQLite and PostgreSQL, ORM credits.

The platform's ``credits`` table has no unique constraint, so an event applied twice
shows as two rows. A PostgreSQL engine connects under an ``application_name`` of its
own, so a test terminates only its own backends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import payplane_inboxkit as kit
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from payplane import InboxTransaction, PostbackEvent
from payplane._inbox._store import StoreUnavailableError
from payplane.contrib.sqlalchemy import SQLAlchemyStore, session


class Base(DeclarativeBase):
    """The test platform's ORM models."""


class Credit(Base):
    """One credit per applied event: the row the storms count."""

    __tablename__ = "credits"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[str] = mapped_column(sa.String(40))


def make_engine(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> sa.Engine:
    """An engine on a fresh database of *kind* (``sqlite`` or ``postgres``), credits created.

    A PostgreSQL engine's ``application_name`` is kept as ``engine.test_application_name``.
    """
    if kind == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    else:
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

        conninfo, name = kit.named_conninfo(request.getfixturevalue("postgres_conninfo"))
        engine = sa.create_engine("postgresql+psycopg://", connect_args=conninfo_to_dict(conninfo))
        engine.test_application_name = name  # type: ignore[attr-defined]
        engine.test_conninfo = conninfo  # type: ignore[attr-defined]
    Base.metadata.create_all(engine)
    return engine


def credit_counts(engine: sa.Engine) -> dict[str, int]:
    """Return event key -> number of credit rows."""
    with Session(engine) as reader:
        rows = reader.execute(
            sa.select(Credit.event_key, sa.func.count()).group_by(Credit.event_key)
        ).all()
    return dict(rows)


class OrmCreditor:
    """A handler that adds one ``Credit`` through the ORM session of the inbox's transaction.

    *fails_first* picks events whose first attempt raises after the row was added (the
    rollback must take the row away); *before_return* runs once, after the row is added.
    """

    def __init__(self, fails_first: Callable[[str], bool] = lambda _key: False) -> None:
        self.fails_first = fails_first
        self.failed: set[str] = set()
        self.calls = 0
        self.lock = threading.Lock()
        self.before_return: Callable[[InboxTransaction], None] | None = None
        self.current = threading.local()  # the event this thread's handler last ran for

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Credit *event* through the ORM."""
        self.current.key = event.event_key
        with self.lock:
            self.calls += 1
            inject, self.before_return = self.before_return, None
        orm = session(transaction)
        orm.add(Credit(event_key=event.event_key, amount=str(event.amount.amount)))
        orm.flush()  # the row is written in the transaction before any failure below
        if inject is not None:
            inject(transaction)
        if self.fails_first(event.event_key):
            with self.lock:
                first = event.event_key not in self.failed
                self.failed.add(event.event_key)
            if first:
                msg = f"injected failure of the first attempt at {event.event_key}"
                raise RuntimeError(msg)


def crash_before_commit(
    store: SQLAlchemyStore, creditor: OrmCreditor, crashing: Callable[[str], bool]
) -> set[str]:
    """Make the first commit after the handler ran for a *crashing* event fail.

    The apply transaction is rolled back instead of committed and the connection is
    reported lost, as when a process dies or the server goes away right before COMMIT:
    the handler's ORM rows must vanish with the "applied" mark. Returns the keys of the
    events whose commit was crashed.
    """
    real = store._commit
    crashed: set[str] = set()

    def commit(conn: Any) -> None:
        key, creditor.current.key = getattr(creditor.current, "key", None), None
        if key is not None and crashing(key) and key not in crashed:
            crashed.add(key)
            conn.sa.rollback()
            msg = f"injected crash before COMMIT of {key}"
            raise StoreUnavailableError(msg)
        real(conn)

    store._commit = commit  # type: ignore[method-assign]
    return crashed
