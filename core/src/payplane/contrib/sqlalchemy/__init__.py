"""The postback inbox on a SQLAlchemy engine (``payplane[sqlalchemy]``).

:class:`SQLAlchemyStore` is an inbox store on your application's SQLAlchemy 2
``Engine`` (SQLite through pysqlite, PostgreSQL through psycopg 3). Its handler writes
with the ORM, and those writes commit with the event's "applied" mark, or not at all::

    from payplane.contrib.sqlalchemy import SQLAlchemyStore, session

    def credit(event, transaction):
        session(transaction).add(Deposit(event_key=event.event_key, amount=event.amount.amount))

    inbox = payplane.Inbox(SQLAlchemyStore(engine), credit, providers=...)

See :doc:`/howto/sqlalchemy`. Importing this module imports SQLAlchemy; ``import
payplane`` never does.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401 - only checked for here
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    _MISSING = 'payplane.contrib.sqlalchemy needs SQLAlchemy 2: pip install "payplane[sqlalchemy]"'
    raise ModuleNotFoundError(_MISSING, name="sqlalchemy") from exc

from payplane.contrib.sqlalchemy._store import SessionFactory, SQLAlchemyStore, session

__all__ = ["SQLAlchemyStore", "SessionFactory", "session"]
