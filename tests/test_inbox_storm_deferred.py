"""Deferred-mode storms: workers apply every event once, through retries, deaths and a kill.

1,000 distinct signed postbacks, each delivered 5 times (5,000 deliveries), shuffled,
from 4 threads into a deferred-mode inbox, while worker processes apply them: 3 on
PostgreSQL, 1 on SQLite (one worker per file). The handler credits through the worker's
transaction into a table without a unique constraint (a double application shows as two
rows); it fails the first attempt of 10% of the events, fails 4 "poison" events until the
operator fixes the cause (they go dead after 3 attempts), and hangs on the first attempt
of one event, whose worker is then killed with SIGKILL. Then the operator fixes the cause
and re-queues the dead events. Checked: nothing lost, nothing applied twice, every event
applied, the dead ones listed.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import payplane_storm as storm
import pytest

import payplane
from payplane import RecordState

EVENTS = 1000
COPIES = 5
DELIVERY_THREADS = 4
POISON = sorted(i for i in range(EVENTS) if storm.poison(i))
FAILING_FIRST = [i for i in range(EVENTS) if i % 10 == 0 and not storm.poison(i)]


@pytest.fixture(params=["postgres", "sqlite"])
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


class Workers:
    """Worker processes (spawned) running ``Inbox.work`` on the storm's database."""

    def __init__(self, store_spec: tuple[str, str], markers: Path) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.store_spec = store_spec
        self.markers = markers
        self.processes: list[Any] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            process = self.context.Process(
                target=storm.deferred_worker,
                args=(self.store_spec, str(self.markers)),
            )
            process.start()
            self.processes.append(process)

    def alive(self) -> list[Any]:
        return [p for p in self.processes if p.is_alive()]

    def close(self) -> None:
        (self.markers / "stop").touch()
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
                process.join()


def _wait_for(condition: Any, what: str, limit: float = 240.0) -> None:
    """Poll *condition* until true; fail (not hang) if it never becomes true."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _kill_the_hung_worker(markers: Path, workers: Workers) -> int:
    _wait_for(lambda: (markers / "hung").exists() and (markers / "hung").read_text(), "the hang")
    pid = int((markers / "hung").read_text())
    assert pid in {p.pid for p in workers.processes}
    os.kill(pid, signal.SIGKILL)
    return pid


def _states(inbox: payplane.Inbox) -> dict[RecordState, int]:
    counts: dict[RecordState, int] = {}
    for record in inbox.iter_records(page=1000):
        counts[record.state] = counts.get(record.state, 0) + 1
    return counts


def _settled(inbox: payplane.Inbox) -> bool:
    """Every event recorded, and none waiting for a worker."""
    states = _states(inbox)
    return sum(states.values()) == EVENTS and not (
        states.get(RecordState.RECEIVED) or states.get(RecordState.FAILED)
    )


def test_deferred_storm(store_spec: tuple[str, str], tmp_path: Path) -> None:
    """5,000 deliveries, workers, failures, poison, a SIGKILL: each event applied once."""
    kind = store_spec[0]
    markers = tmp_path / "markers"
    markers.mkdir()
    deliveries = [index for index in range(EVENTS) for _ in range(COPIES)]
    random.Random(20261201).shuffle(deliveries)  # noqa: S311 - a reproducible shuffle
    workers = Workers(store_spec, markers)
    inbox = storm.make_deferred_inbox(store_spec, markers)
    try:
        workers.start(3 if kind == "postgres" else 1)
        # The PSP's side runs beside the workers; the hung worker is killed meanwhile.
        killer: list[int] = []
        kill = threading.Thread(
            target=lambda: killer.append(_kill_the_hung_worker(markers, workers))
        )
        kill.start()
        counts = storm.thread_storm(inbox, deliveries, DELIVERY_THREADS)
        kill.join(timeout=240)
        [killed] = killer
        if kind == "sqlite":
            workers.start(1)  # the one worker was killed: start another
        _wait_for(lambda: _settled(inbox), "the workers to settle every event")

        # Before the fix: the poison events are dead, listed; the others applied once.
        dead = sorted(r.event_key for r in inbox.iter_records(state=RecordState.DEAD))
        assert dead == [storm.event_key(i) for i in POISON]
        for record in inbox.records(state=RecordState.DEAD, limit=100):
            assert record.attempts == storm.DEFERRED_MAX_ATTEMPTS
            assert record.last_error is not None
            assert record.last_error.startswith("RuntimeError: poison event")
        credited = storm.credit_counts(store_spec)
        assert sorted(credited) == sorted(
            storm.event_key(i) for i in range(EVENTS) if not storm.poison(i)
        )
        assert set(credited.values()) == {1}

        # The operator fixes the cause and re-queues the dead events.
        (markers / "fixed").touch()
        assert inbox.requeue_dead() == len(POISON)
        _wait_for(lambda: _states(inbox) == {RecordState.APPLIED: EVENTS}, "the re-queued events")
    finally:
        workers.close()
        inbox.store.close()

    credited = storm.credit_counts(store_spec)
    applied_twice = sorted(key for key, n in credited.items() if n != 1)
    ok = counts.get(storm.OK, 0)
    not_ok = sum(n for answer, n in counts.items() if answer != storm.OK)
    print(  # noqa: T201 - the issue asks the test to show what it checked
        f"\ndeferred storm on {kind}: {EVENTS} events, {len(deliveries)} deliveries "
        f"({ok} answered ok, {not_ok} asked to re-send and re-sent), "
        f"{len(workers.processes)} worker processes (pid {killed} SIGKILLed mid-handler), "
        f"{len(FAILING_FIRST)} first attempts failed, {len(POISON)} dead then re-queued; "
        f"{len(credited)} events credited, {len(applied_twice)} more than once"
    )
    assert applied_twice == []
    assert sorted(credited) == sorted(storm.event_key(i) for i in range(EVENTS))
    assert ok == len(deliveries)
    assert killed not in {p.pid for p in workers.alive()}
