"""Deferred mode with Celery: each recorded event becomes a task that applies it once.

The web app records and answers; ``on_recorded`` hands each new event to Celery; the task
calls ``Inbox.apply``, which runs the handler exactly once in the transaction that marks
the event applied. A periodic ``sweep`` hands off again what a lost message left behind.

Run a worker with ``celery -A inbox_celery worker`` and the sweep with ``celery -A
inbox_celery beat`` (or any scheduler calling ``sweep_postbacks``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState

app = Celery("payments", broker=os.environ.get("PAYMENTS_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    # A task is acknowledged once it has run: a worker killed mid-task leaves it to another.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    beat_schedule={"sweep-postbacks": {"task": "inbox_celery.sweep_postbacks", "schedule": 60.0}},
)


def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
    """The platform's handler: credit the deposit through the inbox's transaction."""
    transaction.connection.execute(
        "INSERT INTO ledger (event_key, amount, currency) VALUES (?, ?, ?)",
        (event.event_key, str(event.amount.amount), event.amount.currency),
    )


def hand_off(provider: str, account: str, event_key: str) -> None:
    """``on_recorded``: runs after the event is committed, never inside the transaction."""
    apply_postback.delay(provider, account, event_key)


def make_inbox(
    store: payplane.Store,
    providers: dict[str, object],
    handler: Any = credit,  # noqa: ANN401 - the platform's handler
) -> payplane.Inbox:
    """The inbox of the web app (which receives) and of the workers (which apply)."""
    return payplane.Inbox(
        store, handler, providers=providers, mode="deferred", on_recorded=hand_off
    )


def open_store() -> payplane.Store:
    """The inbox's database, with the platform's ledger beside it (SQLite here)."""
    path = os.environ["PAYMENTS_INBOX_DB"]
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ledger (event_key TEXT, amount TEXT, currency TEXT)"
        )
    return payplane.SQLiteStore(path)


@functools.cache
def worker_inbox() -> payplane.Inbox:
    """One inbox per worker process, made on first use (after Celery forks)."""
    return make_inbox(open_store(), {}, handler=credit)


@app.task(bind=True, max_retries=None)  # type: ignore[untyped-decorator] # Celery is untyped
def apply_postback(self: Any, provider: str, account: str, event_key: str) -> str:  # noqa: ANN401
    """Apply one recorded event; a duplicate task finds it applied and does nothing."""
    inbox = worker_inbox()
    state = inbox.apply(provider, event_key, account=account)
    if state is RecordState.FAILED:
        # The handler raised: try again when the inbox's backoff says (dead after
        # max_attempts, then an operator re-queues it and sweep hands it off again).
        record = inbox.get(provider, event_key, account=account)
        due = record.next_attempt_at if record else None
        wait = (due - datetime.now(UTC)).total_seconds() if due else 0.0
        raise self.retry(countdown=max(0.0, wait))
    return str(state.value)


@app.task  # type: ignore[untyped-decorator] # Celery is untyped
def sweep_postbacks() -> int:
    """Hand off again the events still waiting five minutes after they were due."""
    return worker_inbox().sweep(older_than=timedelta(minutes=5))
