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
    EventRef,
    InboxRecord,
    InboxTransaction,
    NewRecord,
    PruneResult,
    RecordState,
    RejectedPostback,
    StoreUnavailableError,
    _now,
    _retention,
    check_page,
    headers_from_json,
    keepable,
    storable_text,
)
from payplane.exceptions import ConfigurationError

__all__ = ["TABLES", "sql_record"]

_T = TypeVar("_T")

TABLES = ("payplane_schema", "payplane_postbacks", "payplane_rejected")
"""The tables of a payplane inbox."""

_COLUMNS = (
    "id, provider, account, event_key, state, attempts, replays, received_at, applied_at,"
    " next_attempt_at, dead_at, last_error, headers, body, event"
)

_REJECTED_COLUMNS = "id, provider, account, received_at, error, headers, body"

# Deferred mode's queue: the events a worker may claim. The partial index of that name
# holds exactly these rows, so an event applied inline never enters it.
WAITING = "state IN ('received', 'failed')"
SETTLED = "state IN ('applied', 'ignored')"


def sql_record(row: tuple[Any, ...]) -> InboxRecord:
    """Build an :class:`InboxRecord` from a row of ``_COLUMNS``."""
    (
        row_id,
        provider,
        account,
        key,
        state,
        attempts,
        replays,
        received,
        applied,
        next_attempt,
        dead,
        error,
        headers,
        body,
        event,
    ) = row
    return InboxRecord(
        id=row_id,
        provider=provider,
        account=account,
        event_key=key,
        state=RecordState(state),
        attempts=attempts,
        replays=replays,
        received_at=_as_time(received),
        applied_at=_maybe_time(applied),
        next_attempt_at=_maybe_time(next_attempt),
        dead_at=_maybe_time(dead),
        last_error=error,
        headers=headers_from_json(headers),
        body=bytes(body),
        event_data=json.loads(event),
    )


def _as_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _maybe_time(value: object) -> datetime | None:
    return None if value is None else _as_time(value)


def _newer_schema(version: int | None, where: str, field: str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        msg = (
            f"{where} holds inbox schema version {version}; this payplane "
            f"knows version {SCHEMA_VERSION}: upgrade payplane"
        )
        raise ConfigurationError(msg, field=field)


def _older_schema(version: int, where: str, field: str) -> None:
    """Refuse, without writing, an inbox that needs a migration (``create=False``)."""
    if version < SCHEMA_VERSION:
        msg = (
            f"{where} holds inbox schema version {version}; this payplane needs version "
            f"{SCHEMA_VERSION}: open it once with create=True (as your application's "
            "store does on start-up), which migrates it in place"
        )
        raise ConfigurationError(msg, field=field)


class _SqlApply:
    """An apply transaction of a :class:`_SqlStore`, on the connection that holds the lock.

    ``open`` is false when no transaction was begun (a repeat of a settled event, seen
    by a read that needs no lock): there is nothing to commit.
    """

    def __init__(  # noqa: PLR0917 - private, built in one place per store
        self,
        store: _SqlStore,
        connection: Any,  # noqa: ANN401 - sqlite3 or psycopg connection
        ref: EventRef,
        row_id: int,
        state: RecordState,
        attempts: int,
        event_json: str,
        *,
        fresh: bool = False,
        open_: bool = True,
        savepoint: str | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._connection = connection
        self.ref = ref
        self._id = row_id
        self.state = state
        self.attempts = attempts
        self.event_json = event_json
        self.fresh = fresh
        self.open = open_
        self.transaction = InboxTransaction(connection)
        self._ready_savepoint = savepoint
        self._savepoints = 0
        self.release = release
        # Set by a store that opens a fresh event's transaction without a savepoint: what
        # to do when the handler raises (roll everything back, record the event anew).
        self.redo: Callable[[], None] | None = None

    def retarget(self, row_id: int, state: RecordState, *, fresh: bool) -> None:
        """Hold another row version of the event (after :attr:`redo`)."""
        self._id, self.state, self.fresh = row_id, state, fresh

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        self._connection.execute(self._store.sql(sql), params)

    def mark_applied(self) -> None:
        if self.fresh:
            return  # inserted as applied by this very transaction
        self._execute(
            "UPDATE payplane_postbacks SET state = 'applied', applied_at = ?,"
            " last_error = NULL, next_attempt_at = NULL, dead_at = NULL,"
            " attempts = attempts + 1 WHERE id = ?",
            (self._store.time(_now()), self._id),
        )

    def mark_replayed(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET replays = replays + 1 WHERE id = ?", (self._id,)
        )

    def mark_ignored(self) -> None:
        self._execute(
            "UPDATE payplane_postbacks SET state = 'ignored', applied_at = ?,"
            " next_attempt_at = NULL, dead_at = NULL WHERE id = ?",
            (self._store.time(_now()), self._id),
        )

    def mark_failed(self, error: str, *, retry_in: float | None, dead: bool) -> None:
        if self.state is RecordState.APPLIED and not self.fresh:
            # A failed replay leaves an applied event applied; it only counts the attempt.
            self._execute(
                "UPDATE payplane_postbacks SET attempts = attempts + 1 WHERE id = ?", (self._id,)
            )
            return
        store = self._store
        # A fresh row was inserted as applied, its attempt already counted.
        counted = "attempts" if self.fresh else "attempts + 1"
        retry_sql, retry_params = store.later(retry_in)
        self._execute(
            f"UPDATE payplane_postbacks SET attempts = {counted}, state = ?,"  # noqa: S608
            f" applied_at = NULL, last_error = ?, next_attempt_at = {retry_sql}, dead_at = ?"
            " WHERE id = ?",
            (
                "dead" if dead else "failed",
                storable_text(error),
                *retry_params,
                store.time(_now()) if dead else None,
                self._id,
            ),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        if self.redo is not None:
            redo, self.redo = self.redo, None
            try:
                yield
            except Exception:
                redo()
                raise
            return
        if self._ready_savepoint is not None:
            name, self._ready_savepoint = self._ready_savepoint, None
        else:
            self._savepoints += 1
            name = f"payplane_handler_{self._savepoints}"
            self._connection.execute(f"SAVEPOINT {name}")
        # Not released: what follows (the mark) belongs in it as well, and COMMIT ends
        # it; a round trip saved per event.
        try:
            yield
        except BaseException:
            self._connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise


class _SqlStore:
    """What the SQLite and PostgreSQL stores share.

    Queries written with ``?`` placeholders, the one-retry rule for a lost connection,
    the apply transaction's shape, the read side and the rejected deliveries' bounds.
    Each database supplies how a connection is acquired, released and judged lost, and
    how an apply or claim transaction begins.
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

    def _begin_apply(
        self,
        conn: Any,  # noqa: ANN401
        ref: EventRef,
        wait: float,
        new: NewRecord | None,
    ) -> _SqlApply:
        """Begin a transaction on *conn* holding the event's lock (inserting *new* first)."""
        raise NotImplementedError

    def _begin_claim(self, conn: Any, wait: float, lease: float) -> _SqlApply | None:  # noqa: ANN401
        """Begin a transaction on *conn* holding the next due event; ``None`` if none."""
        raise NotImplementedError

    def _reject_on(  # noqa: PLR0917 - the columns of a refused delivery
        self,
        conn: Any,  # noqa: ANN401
        provider: str,
        account: str,
        body: bytes,
        error: str,
        headers_json: str,
    ) -> None:
        """Insert a refused delivery and prune, in one transaction."""
        raise NotImplementedError

    def _prune_batch(self, conn: Any, statement: str, params: tuple[object, ...]) -> int:  # noqa: ANN401
        """Run one batch of a prune (a DELETE) in its own short transaction; return its count."""
        raise NotImplementedError

    def _requeue_on(self, conn: Any, ref: EventRef) -> RecordState | None:  # noqa: ANN401
        """Make a dead or failed event due now; return its state (``None``: no record)."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Return *statement* with this database's placeholders."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def time(self, value: datetime) -> object:
        """Return *value* as this database stores a time."""
        return value.isoformat(timespec="microseconds")

    def later(self, seconds: float | None) -> tuple[str, tuple[object, ...]]:
        """SQL for the time *seconds* from now (``NULL`` for ``None``) and its parameters."""
        if seconds is None:
            return "NULL", ()
        return "?", (self.time(_now() + timedelta(seconds=seconds)),)

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

    def _commit(self, conn: Any) -> None:  # noqa: ANN401
        """Commit the apply transaction open on *conn*."""
        conn.execute("COMMIT")

    @contextmanager
    def _holding(self, conn: Any, token: Any, context: _SqlApply) -> Iterator[_SqlApply]:  # noqa: ANN401
        """Yield *context*; commit on a normal exit, roll back otherwise; release all."""
        try:
            try:
                yield context
            except BaseException as exc:
                lost = self._lost(exc, conn)
                if not lost and context.open:
                    self._rollback_quietly(conn)
                self._release(conn, token, lost=lost)
                if lost and isinstance(exc, Exception):
                    msg = f"database connection lost inside the apply transaction: {exc}"
                    raise StoreUnavailableError(msg) from exc
                raise
            if not context.open:
                self._release(conn, token, lost=False)
                return
            try:
                self._commit(conn)
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
        finally:
            if context.release is not None:
                context.release()

    @contextmanager
    def applying(
        self, ref: EventRef, *, wait: float, new: NewRecord | None = None
    ) -> Iterator[_SqlApply]:
        """Lock the event inside a transaction (see :class:`~payplane.Store`).

        Opening the transaction (inserting *new* first, if given) is retried once on a
        fresh connection if the connection dies; a loss after that raises
        :class:`StoreUnavailableError` (``commit_sent`` when it happened during COMMIT)
        and leaves the retry to the caller, who knows whether running the handler again
        is safe.
        """
        conn, token, context = self._twice(
            lambda conn: self._begin_apply(conn, ref, wait, new), keep=True
        )
        with self._holding(conn, token, context) as held:
            yield held

    @contextmanager
    def claim(self, *, wait: float, lease: float) -> Iterator[_SqlApply | None]:
        """Hold the next due event in a transaction; ``None`` when none is due."""
        conn, token, context = self._twice(
            lambda conn: self._begin_claim(conn, wait, lease), keep=True
        )
        if context is None:
            self._release(conn, token, lost=False)
            yield None
            return
        with self._holding(conn, token, context) as held:
            yield held

    def reject(
        self, provider: str, account: str, body: bytes, error: str, headers_json: str
    ) -> None:
        """Keep a refused delivery (at most 64 KiB of its body); drop beyond the bounds.

        In the same transaction, deliveries older than ``rejected_max_age`` and all but
        the newest ``rejected_limit`` are deleted.
        """
        body, error = body[:REJECTED_BODY_LIMIT], storable_text(error)
        self._run(lambda conn: self._reject_on(conn, provider, account, body, error, headers_json))

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

    # -- the read side and operations ---------------------------------------------------

    def get(self, ref: EventRef) -> InboxRecord | None:
        """Return one record, or ``None``."""
        if not all(keepable(part) for part in ref):
            return None  # no such key can have been recorded
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - constant columns
            " WHERE provider = ? AND account = ? AND event_key = ?"
        )
        row = self._run(lambda conn: conn.execute(statement, tuple(ref)).fetchone())
        return None if row is None else sql_record(row)

    def records(
        self,
        *,
        state: RecordState | None = None,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[InboxRecord]:
        """Return records, newest first (``id < after`` when given)."""
        limit, after = check_page(limit, after)
        if not all(keepable(part) for part in (provider or "", account or "")):
            return []  # no such provider or account can have been recorded
        conditions, params = _filters(provider=provider, account=account, after=after)
        if state is not None:
            conditions.append("state = ?")
            params.append(state.value)
        statement = self.sql(
            f"SELECT {_COLUMNS} FROM payplane_postbacks"  # noqa: S608 - placeholders only
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (*params, limit)).fetchall())
        return [sql_record(row) for row in rows]

    def rejected(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RejectedPostback]:
        """Return refused deliveries, newest first (``id < after`` when given)."""
        limit, after = check_page(limit, after)
        if not all(keepable(part) for part in (provider or "", account or "")):
            return []
        conditions, params = _filters(provider=provider, account=account, after=after)
        statement = self.sql(
            f"SELECT {_REJECTED_COLUMNS} FROM payplane_rejected"  # noqa: S608 - placeholders only
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(statement, (*params, limit)).fetchall())
        return [
            RejectedPostback(
                id=i,
                provider=p,
                account=a,
                received_at=_as_time(t),
                error=e,
                headers=headers_from_json(h),
                body=bytes(b),
            )
            for i, p, a, t, e, h, b in rows
        ]

    def requeue(self, ref: EventRef) -> RecordState | None:
        """Make a dead or failed event due now with a new count of attempts."""
        if not all(keepable(part) for part in ref):
            return None
        return self._run(lambda conn: self._requeue_on(conn, ref))

    def due(self, *, before: datetime, limit: int) -> list[EventRef]:
        """Return waiting events whose next attempt is before *before*, oldest first."""
        statement = self.sql(
            "SELECT provider, account, event_key FROM payplane_postbacks"  # noqa: S608
            f" WHERE {WAITING} AND next_attempt_at < ? ORDER BY next_attempt_at, id LIMIT ?"
        )
        rows = self._run(
            lambda conn: conn.execute(statement, (self.time(before), limit)).fetchall()
        )
        return [EventRef(*row) for row in rows]

    def prune(
        self,
        *,
        applied_before: datetime | None,
        rejected_before: datetime | None,
        batch: int,
        dry_run: bool,
    ) -> PruneResult:
        """Delete applied and ignored records and refused deliveries older than the times.

        Each batch of at most *batch* rows is its own short transaction, so deliveries
        go on between them; rows another transaction holds are left for the next prune.
        """
        records = rejected = 0
        work = (
            ("payplane_postbacks", f"{SETTLED} AND applied_at < ?", applied_before),
            ("payplane_rejected", "received_at < ?", rejected_before),
        )
        for table, condition, before in work:
            if before is None:
                continue
            count = self._prune_table(table, condition, self.time(before), batch, dry_run=dry_run)
            if table == "payplane_postbacks":
                records = count
            else:
                rejected = count
        return PruneResult(records=records, rejected=rejected, dry_run=dry_run)

    def _prune_table(
        self, table: str, condition: str, before: object, batch: int, *, dry_run: bool
    ) -> int:
        if dry_run:
            statement = self.sql(f"SELECT COUNT(*) FROM {table} WHERE {condition}")  # noqa: S608

            def count_rows(conn: Any) -> int:  # noqa: ANN401 - either database's connection
                found: int = conn.execute(statement, (before,)).fetchone()[0]
                return found

            return self._run(count_rows)
        delete = self.sql(self._prune_statement(table, condition))

        def one_batch(conn: Any) -> int:  # noqa: ANN401 - either database's connection
            return self._prune_batch(conn, delete, (before, batch))

        count = 0
        while True:
            done = self._run(one_batch)
            count += done
            if done < batch:
                return count

    def _prune_statement(self, table: str, condition: str) -> str:
        return (
            f"DELETE FROM {table} WHERE id IN"  # noqa: S608 - constant names
            f" (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT ?)"
        )


def _filters(
    *, provider: str | None, account: str | None, after: int | None
) -> tuple[list[str], list[object]]:
    conditions: list[str] = ["TRUE"]
    params: list[object] = []
    if provider is not None:
        conditions.append("provider = ?")
        params.append(provider)
    if account is not None:
        conditions.append("account = ?")
        params.append(account)
    if after is not None:
        conditions.append("id < ?")
        params.append(after)
    return conditions, params
