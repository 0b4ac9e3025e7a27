"""Duplicate storms through ``DjangoStore``: ORM rows, exactly one per event.

The handler (``payplane_djangoproject.payments.credit``) writes a ``Credit`` row
through the ORM, into a table without a unique constraint, and fails the first attempt
of 10% of the events after writing it. 100 distinct Paykassma Wavepay postbacks, each
delivered 4 times (400 deliveries), shuffled, from 8 threads; every answer other than
"ok" is sent again, as the PSP does. Inline, and deferred with 3 worker threads.
Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator

import payplane_djangokit as kit
import payplane_storm as storm
import pytest

import payplane
from payplane import RecordState

EVENTS = 100
COPIES = 4
THREADS = 8
FAILING = [i for i in range(EVENTS) if i % 10 == 0]

django_db = kit.django_db


def _deliveries() -> list[int]:
    deliveries = [index for index in range(EVENTS) for _ in range(COPIES)]
    random.Random(20261214).shuffle(deliveries)  # noqa: S311 - a reproducible shuffle
    return deliveries


@pytest.fixture
def quiet() -> Iterator[None]:
    """The injected failures are logged as warnings: not worth showing."""
    logger = logging.getLogger("payplane.inbox")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def _fail_first() -> None:
    from payplane_djangoproject import payments  # noqa: PLC0415

    payments.FAIL_FIRST.update(storm.event_key(i) for i in FAILING)


def _check_records(inbox: payplane.Inbox) -> None:
    records = inbox.records(limit=EVENTS * 2)
    assert len(records) == EVENTS
    assert {r.state for r in records} == {RecordState.APPLIED}
    assert sum(r.attempts for r in records) == EVENTS + len(FAILING)


def test_inline_storm(django_db: str, quiet: None) -> None:
    """8 threads deliver 400 duplicates inline: one Credit row per event, all applied."""
    from payplane_djangoproject import payments  # noqa: PLC0415

    _fail_first()
    inbox = payments.make_inbox(django_db)
    counts = storm.thread_storm(inbox, _deliveries(), THREADS)
    assert kit.credit_counts(django_db) == {storm.event_key(i): 1 for i in range(EVENTS)}
    assert counts[storm.OK] == EVENTS * COPIES
    # The only re-sends are the injected first-attempt failures.
    assert sum(n for answer, n in counts.items() if answer != storm.OK) == len(FAILING)
    _check_records(inbox)


def test_deferred_storm(django_db: str, quiet: None) -> None:
    """Deferred: 8 threads record 400 duplicates while 3 workers apply; one row per event."""
    from payplane_djangoproject import payments  # noqa: PLC0415

    _fail_first()
    inbox = payments.make_inbox(
        django_db,
        mode="deferred",
        max_attempts=5,
        backoff=payplane.Backoff(initial=0.02, maximum=0.1, jitter=0.02),
    )
    stop = threading.Event()
    summaries: list[payplane.WorkSummary] = []
    workers = [
        threading.Thread(
            target=lambda: summaries.append(inbox.work(stop=stop, idle_wait=0.02, lease=60))
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        counts = storm.thread_storm(inbox, _deliveries(), THREADS)
        deadline = time.monotonic() + 60
        while inbox.records(state=RecordState.RECEIVED, limit=1) or inbox.records(
            state=RecordState.FAILED, limit=1
        ):
            assert time.monotonic() < deadline, "the workers did not apply every event"
            time.sleep(0.05)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    # Deferred mode answers "ok" once recorded: no delivery was asked to re-send.
    assert counts == {storm.OK: EVENTS * COPIES}
    assert kit.credit_counts(django_db) == {storm.event_key(i): 1 for i in range(EVENTS)}
    assert sum(s.applied for s in summaries) == EVENTS
    assert sum(s.failed for s in summaries) == len(FAILING)
    _check_records(inbox)
