"""What the SQLite and PostgreSQL stores share: queries, the one-retry rule, applying."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from payplane._inbox._store import (
    REJECTED_BODY_LIMIT,
    SCHEMA_VERSION,
    InboxRecord,
    InboxTransaction,
    RecordState,
    RejectedPostback,
    StoreUnavailableError,
    _now,
    _retention,
    keepable,
    storable_text,
)
from payplane.exceptions import ConfigurationError

__all__ = ["TABLES", "sql_record"]

_T = TypeVar("_T")

_COLUMNS = (
    "provider, event_key, state, attempts, replays, received_at, applied_at, last_error,"
    " body, event"
)


def sql_record(row: tuple[Any, ...]) -> InboxRecord:
    """Build an :class:`InboxRecord` from a row of ``_COLUMNS``."""
    provider, key, state, attempts, replays, received, applied, error, body, event = row
    return InboxRecord(
        provider=provider,
        event_key=key,
        state=RecordState(state),
        attempts=attempts,
        replays=replays,
        received_at=_as_time(received),
        applied_at=None if applied is None else _as_time(applied),
        last_error=error,
        body=bytes(body),
        event_data=json.loads(event),
    )


def _as_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class _SqlApply:
    """An apply transaction of a :class:`_SqlStore`, on the connection that holds the lock."""

    def __init__(
        self,
        store: _SqlStore,
        connection: Any,  # noqa: ANN401 - sqlite3 or psycopg connection
        *,
        provider: str,
        event_key: str,
        state: RecordState,
    ) -> None:
        self._store = store
        self._connection = connection
        self._key = (provider, event_key)
        self.state = state
        self.transaction = InboxTransaction(connection)
        self._savepoints = 0

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        self._connection.execute(self._store.sql(sql), params)

    def mark_applied(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET state = 'applied', applied_at = ?,"
            " last_error = NULL, attempts = attempts + 1 WHERE provider = ? AND event_key = ?",
            (self._store.time(_now()), *self._key),
        )

    def mark_replayed(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET replays = replays + 1"
            " WHERE provider = ? AND event_key = ?",
            self._key,
        )

    def mark_failed(self, error: str) -> None:
        # A failed replay leaves an applied event applied; it only counts the attempt.
        self._execute(
            "UPDATE payplane_postbacks SET attempts = attempts + 1,"
            " state = CASE WHEN state = 'applied' THEN state ELSE 'failed' END,"
            " last_error = CASE WHEN state = 'applied' THEN last_error ELSE ? END"
            " WHERE provider = ? AND event_key = ?",
            (storable_text(error), *self._key),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._savepoints += 1
        name = f"payplane_handler_{self._savepoints}"
        self._connection.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._connection.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._connection.execute(f"RELEASE SAVEPOINT {name}")


class _SqlStore:
    """What the SQLite and PostgreSQL stores share.

    Queries written with ``?`` placeholders, the one-retry rule for a lost connection,
    the apply transaction's shape, the read side and the rejected deliveries' bounds.
    Each database supplies how a connection is acquired, released and judged lost, and
    how an apply transaction begins.
    """

    placeholder = "?"
    rejected_limit: int | None
    rejected_max_age: timedelta | None

    def __init__(self, *, rejected_limit: int | None, rejected_max_age: timedelta | None) -> None:
        self.rejected_limit, self.rejected_max_age = _retention(rejected_limit, rejected_max_age)

    # -- what each database supplies -----------------------------------------------------

    def _acquire(self) -> tuple[Any, Any]:
        """Return a usable connection and what :meth:`_release` needs to give it back.

        Raises:
            StoreUnavailableError: the database cannot be reached.
        """
        raise NotImplementedError

    def _release(self, conn: Any, token: Any, *, lost: bool) -> None:  # noqa: ANN401
        """Give *conn* back; a *lost* one is discarded."""
        raise NotImplementedError

    def _lost(self, exc: BaseException, conn: Any) -> bool:  # noqa: ANN401
        """Whether *exc*, raised while using *conn*, means the connection is gone."""
        raise NotImplementedError

    def _recover(self) -> None:
        """Prepare a retry after a lost connection (drop other dead connections)."""

    def _begin_locked(
        self,
        conn: Any,  # noqa: ANN401
        provider: str,
        event_key: str,
        wait: float,
    ) -> RecordState:
        """Begin a transaction on *conn* holding the event's lock; return its state."""
        raise NotImplementedError

    def _reject_on(self, conn: Any, provider: str, body: bytes, error: str) -> None:  # noqa: ANN401
        """Insert a refused delivery and prune, in one transaction."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Return *statement* with this database's placeholders."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def time(self, value: datetime) -> object:
        """Return *value* as this database stores a time."""
        return value.isoformat(timespec="microseconds")

    def _twice(self, work: Callable[[Any], _T], *, keep: bool) -> tuple[Any, Any, _T]:
        """Run *work* on a connection; once more on a fresh one if the connection dies.

        Only for work that is safe to repeat. With *keep*, the connection is returned
        with the result, still in the transaction *work* opened; otherwise it is
        released. No connection to be had at all (the database is down) is not retried:
        a retry would only wait as long again.
        """
        for attempt in (1, 2):
            conn, token = self._acquire()
            try:
                result = work(conn)
            except Exception as exc:
                lost = self._lost(exc, conn)
                if keep and not lost:
                    self._rollback_quietly(conn)
                self._release(conn, token, lost=lost)
                if not lost:
                    raise
                if attempt == 2:  # noqa: PLR2004 - the one retry
                    if isinstance(exc, StoreUnavailableError):
                        raise
                    msg = f"database connection lost: {exc}"
                    raise StoreUnavailableError(msg) from exc
                self._recover()
                continue
            if not keep:
                self._release(conn, token, lost=False)
            return conn, token, result
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _run(self, work: Callable[[Any], _T]) -> _T:
        """Run the idempotent *work* on a connection; once more on a fresh one if it dies."""
        return self._twice(work, keep=False)[2]

    def _rollback_quietly(self, conn: Any) -> None:  # noqa: ANN401
        # Nothing to roll back, or the connection is gone: either way, nothing to do.
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")

    def _begin_apply(
        self, provider: str, event_key: str, wait: float
    ) -> tuple[Any, Any, RecordState]:
        """Acquire a connection and lock the event, once more on a fresh one if it dies."""
        return self._twice(
            lambda conn: self._begin_locked(conn, provider, event_key, wait), keep=True
        )

    @contextmanager
    def applying(self, provider: str, event_key: str, *, wait: float) -> Iterator[_SqlApply]:
        """Lock the event inside a transaction (see :class:`~payplane.Store`).

        Opening the transaction is retried once on a fresh connection if the connection
        dies; a loss after that raises :class:`StoreUnavailableError` (``commit_sent``
        when it happened during COMMIT) and leaves the retry to the caller, who knows
        whether running the handler again is safe.
        """
        conn, token, state = self._begin_apply(provider, event_key, wait)
        context = _SqlApply(self, conn, provider=provider, event_key=event_key, state=state)
        try:
            yield context
        except BaseException as exc:
            lost = self._lost(exc, conn)
            if not lost:
                self._rollback_quietly(conn)
            self._release(conn, token, lost=lost)
            if lost and isinstance(exc, Exception):
                msg = f"database connection lost inside the apply transaction: {exc}"
                raise StoreUnavailableError(msg) from exc
            raise
        try:
            conn.execute("COMMIT")
        except Exception as exc:
            lost = self._lost(exc, conn)
            if not lost:
                self._rollback_quietly(conn)
            self._release(conn, token, lost=lost)
            if lost:
                msg = f"database connection lost during COMMIT (outcome unknown): {exc}"
                raise StoreUnavailableError(msg, commit_sent=True) from exc
            raise
        self._release(conn, token, lost=False)

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Keep a refused delivery (at most 64 KiB of its body); drop beyond the bounds.

        In the same transaction, deliveries older than ``rejected_max_age`` and all but
        the newest ``rejected_limit`` are deleted.
        """
        body, error = body[:REJECTED_BODY_LIMIT], storable_text(error)
        self._run(lambda conn: self._reject_on(conn, provider, body, error))

    def _prune_condition(self) -> tuple[str, tuple[object, ...]]:
        """The rejected rows to delete, given the id just inserted (``{new}``)."""
        conditions: list[str] = []
        params: list[object] = []
        if self.rejected_limit is not None:
            conditions.append("id <= {new} - ?")
            params.append(self.rejected_limit)
        if self.rejected_max_age is not None:
            conditions.append("received_at < ?")
            params.append(self.time(_now() - self.rejected_max_age))
        return " OR ".join(conditions), tuple(params)

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        if not (keepable(provider) and keepable(event_key)):
            return None  # no such key can have been recorded
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
            " WHERE provider = ? AND event_key = ?"
        )
        row = self._run(lambda conn: conn.execute(statement, (provider, event_key)).fetchone())
        return None if row is None else sql_record(row)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        if provider is not None and not keepable(provider):
            return []  # no such provider can have been recorded
        conditions, params = ["TRUE"], []
        if state is not None:
            conditions.append("state = ?")
            params.append(state.value)
        if provider is not None:
            conditions.append("provider = ?")
            params.append(provider)
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - placeholders only
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (*params, limit)).fetchall())
        return [sql_record(row) for row in rows]

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        statement = self.sql(
            "SELECT provider, received_at, error, body FROM payplane_rejected"
            " ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (limit,)).fetchall())
        return [
            RejectedPostback(provider=p, received_at=_as_time(t), error=e, body=bytes(b))
            for p, t, e, b in rows
        ]


TABLES = ("payplane_schema", "payplane_postbacks", "payplane_rejected")
"""The tables of a payplane inbox."""


def _newer_schema(version: int | None, where: str, field: str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        msg = (
            f"{where} holds inbox schema version {version}; this payplane "
            f"knows version {SCHEMA_VERSION}: upgrade payplane"
        )
        raise ConfigurationError(msg, field=field)
