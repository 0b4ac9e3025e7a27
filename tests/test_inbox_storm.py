"""Duplicate storms and crashes: every distinct event applied exactly once, none lost.

1,000 distinct signed postbacks, each delivered 5 times, shuffled, from 8 concurrent
workers (threads, and separately processes); the handler fails on the first attempt of
10% of the events; every non-ok answer is re-sent, as the PSP does. Runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import payplane_storm as storm
import pytest

import payplane
from payplane import RecordState

EVENTS = 1000
COPIES = 5
WORKERS = 8
FAILING = EVENTS // 10


@pytest.fixture(params=["sqlite", "postgres"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """An empty inbox database with the platform's credits table beside it."""
    if request.param == "sqlite":
        spec = ("sqlite", str(tmp_path / "inbox.sqlite3"))
        payplane.SQLiteStore(spec[1]).close()
    else:
        spec = ("postgres", request.getfixturevalue("postgres_conninfo"))
        payplane.PostgresStore(spec[1]).close()
    storm.create_credits_table(spec)
    return spec


def _deliveries() -> list[int]:
    deliveries = [index for index in range(EVENTS) for _ in range(COPIES)]
    random.Random(20261127).shuffle(deliveries)  # noqa: S311 - a reproducible shuffle
    return deliveries


def _check(store_spec: tuple[str, str], counts: dict[tuple[int, bytes], int], label: str) -> None:
    credited = storm.credit_counts(store_spec)
    ok = counts.get(storm.OK, 0)
    not_ok = sum(n for answer, n in counts.items() if answer != storm.OK)
    applied_twice = sorted(key for key, n in credited.items() if n != 1)
    print(  # noqa: T201 - the issue asks the test to print what it checked
        f"\n{label} on {store_spec[0]}: {EVENTS} events, {EVENTS * COPIES} deliveries, "
        f"{ok} answered 200 ok, {not_ok} asked to re-send, {len(credited)} events credited, "
        f"{len(applied_twice)} credited more than once"
    )
    assert applied_twice == []
    assert sorted(credited) == sorted(storm.event_key(i) for i in range(EVENTS))
    assert ok == EVENTS * COPIES
    # The only re-sends are the injected first-attempt failures: no delivery of an applied
    # event, and no delivery that merely waited for a concurrent one, was refused.
    assert not_ok == FAILING
    store = (
        payplane.SQLiteStore(store_spec[1])
        if store_spec[0] == "sqlite"
        else payplane.PostgresStore(store_spec[1])
    )
    try:
        records = store.records(limit=EVENTS * 2)
    finally:
        store.close()
    assert len(records) == EVENTS
    assert {r.state for r in records} == {RecordState.APPLIED}
    assert sum(r.attempts for r in records) == EVENTS + FAILING


def test_duplicate_storm_threads(store_spec: tuple[str, str], tmp_path: Path) -> None:
    """8 threads share one inbox: each distinct event credited exactly once."""
    markers = tmp_path / "markers"
    markers.mkdir()
    inbox = storm.make_inbox(store_spec, markers)
    try:
        counts = storm.thread_storm(inbox, _deliveries(), WORKERS)
    finally:
        inbox.store.close()
    _check(store_spec, counts, "threads")


def test_duplicate_storm_processes(store_spec: tuple[str, str], tmp_path: Path) -> None:
    """8 processes, each with its own inbox on the same database: exactly once."""
    markers = tmp_path / "markers"
    markers.mkdir()
    context = multiprocessing.get_context("spawn")
    work = context.Queue()
    results = context.Queue()
    deliveries = _deliveries()
    for index in deliveries:
        work.put(index)
    outstanding = context.Value("i", len(deliveries))
    workers = [
        context.Process(
            target=storm.process_worker,
            args=(store_spec, str(markers), work, results, outstanding),
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    counts: dict[tuple[int, bytes], int] = {}
    for _ in workers:
        for answer, n in results.get(timeout=300).items():
            counts[answer] = counts.get(answer, 0) + n
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    work.close()
    results.close()
    _check(store_spec, counts, "processes")


def test_worker_killed_mid_handler(store_spec: tuple[str, str], tmp_path: Path) -> None:
    """SIGKILL inside an inline handler: nothing recorded, nothing acknowledged; applied once."""
    markers = tmp_path / "markers"
    markers.mkdir()
    index = 7  # not one of the injected failures
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=storm.hang_worker, args=(store_spec, str(markers), index))
    worker.start()
    deadline = time.monotonic() + 60
    while not (markers / "in-handler").exists():
        assert time.monotonic() < deadline, "the worker never reached the handler"
        assert worker.is_alive()
        time.sleep(0.02)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert worker.exitcode == -signal.SIGKILL

    # Record, credit and mark were one transaction: it rolled back whole. Nothing was
    # acknowledged, so nothing is lost: the PSP sends the event again.
    assert storm.credit_counts(store_spec) == {}
    inbox = storm.make_inbox(store_spec, markers)
    try:
        assert inbox.get("paykassma_wavepay", storm.event_key(index)) is None
        # The PSP re-sends: applied now, and only once however often it re-sends.
        answers = [inbox.receive("paykassma_wavepay", storm.postback(index), {}) for _ in range(3)]
    finally:
        inbox.store.close()
    assert [(a.status_code, a.content) for a in answers] == [storm.OK] * 3
    assert storm.credit_counts(store_spec) == {storm.event_key(index): 1}
