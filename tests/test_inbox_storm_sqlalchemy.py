"""Storms on SQLAlchemyStore: rows written through the ORM, exactly one per event.

100 distinct signed Paykassma Wavepay postbacks, each delivered 5 times (500
deliveries), shuffled, from 8 threads; the handler adds a ``Credit`` row through
``payplane.contrib.sqlalchemy.session`` (into a table without a unique constraint, so a
double application shows as two rows) and fails the first attempt of 10% of the events
after its row was flushed; for another 10% the first apply transaction is rolled back
at the commit, after the handler returned, with the connection reported lost (a crash
right before COMMIT): its ORM row must vanish with the "applied" mark. Inline: every
non-ok answer is re-sent, as the PSP does. Deferred: 3 worker threads apply what 4
delivery threads record. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import payplane_sakit as sakit
import payplane_storm as storm
import pytest
import sqlalchemy as sa

import payplane
from payplane import RecordState
from payplane.contrib.sqlalchemy import SQLAlchemyStore

EVENTS = 100
COPIES = 5
THREADS = 8
FAILING = {storm.event_key(i) for i in range(EVENTS) if i % 10 == 0}
CRASHING = {storm.event_key(i) for i in range(EVENTS) if i % 10 == 5}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database holding the platform's credits table."""
    engine = sakit.make_engine(request.param, tmp_path, request)
    yield engine
    engine.dispose()


def _deliveries() -> list[int]:
    deliveries = [index for index in range(EVENTS) for _ in range(COPIES)]
    random.Random(20261201).shuffle(deliveries)  # noqa: S311 - a reproducible shuffle
    return deliveries


def _inbox(engine: sa.Engine, creditor: sakit.OrmCreditor, **kwargs: object) -> payplane.Inbox:
    store = SQLAlchemyStore(engine)
    creditor.crashed = sakit.crash_before_commit(store, creditor, CRASHING.__contains__)  # type: ignore[attr-defined]
    return payplane.Inbox(
        store,
        creditor,
        providers={"paykassma_wavepay": storm.SETTINGS},
        registry=payplane.Registry(strict=True),
        wait=30.0,
        **kwargs,  # type: ignore[arg-type]
    )


def _check_records(inbox: payplane.Inbox, creditor: sakit.OrmCreditor) -> None:
    assert creditor.crashed == CRASHING  # type: ignore[attr-defined]
    records = inbox.records(limit=EVENTS * 2)
    assert len(records) == EVENTS
    assert {r.state for r in records} == {RecordState.APPLIED}
    assert sum(r.attempts for r in records) == EVENTS + len(FAILING)


def test_inline_duplicate_storm(engine: sa.Engine) -> None:
    """8 threads, 500 shuffled deliveries of 100 events: one ORM row per event, all 'ok'."""
    creditor = sakit.OrmCreditor(fails_first=FAILING.__contains__)
    inbox = _inbox(engine, creditor)
    counts = storm.thread_storm(inbox, _deliveries(), THREADS)
    credited = sakit.credit_counts(engine)
    assert sorted(key for key, n in credited.items() if n != 1) == []
    assert sorted(credited) == sorted(storm.event_key(i) for i in range(EVENTS))
    assert counts.get(storm.OK, 0) == EVENTS * COPIES
    # The only re-sends are the injected first-attempt failures.
    assert sum(n for answer, n in counts.items() if answer != storm.OK) == len(FAILING)
    _check_records(inbox, creditor)


def test_deferred_storm_with_workers(engine: sa.Engine) -> None:
    """3 workers apply what 4 threads record (500 deliveries): one ORM row per event."""
    creditor = sakit.OrmCreditor(fails_first=FAILING.__contains__)
    backoff = payplane.Backoff(initial=0.01, maximum=0.05, jitter=0.01)
    inbox = _inbox(engine, creditor, mode="deferred", backoff=backoff)
    stop = threading.Event()
    summaries: list[payplane.WorkSummary] = []

    def work() -> None:
        summaries.append(inbox.work(stop=stop, idle_wait=0.01))

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        counts = storm.thread_storm(inbox, _deliveries(), 4)
        deadline = time.monotonic() + 60
        while len(inbox.records(state=RecordState.APPLIED, limit=EVENTS * 2)) < EVENTS:
            assert time.monotonic() < deadline, "the workers did not apply every event"
            time.sleep(0.05)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert counts == {storm.OK: EVENTS * COPIES}  # deferred: every delivery acknowledged
    credited = sakit.credit_counts(engine)
    assert sorted(key for key, n in credited.items() if n != 1) == []
    assert sorted(credited) == sorted(storm.event_key(i) for i in range(EVENTS))
    assert sum(s.applied for s in summaries) == EVENTS
    assert sum(s.failed for s in summaries) == len(FAILING)
    assert len(summaries) == 3
    _check_records(inbox, creditor)
