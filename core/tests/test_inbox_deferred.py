"""Deferred mode: answer once recorded; workers (or a task queue) apply, retry, give up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import payplane_inboxkit as kit
import pytest
from hypothesis import given
from hypothesis import strategies as st

import payplane
from payplane import Backoff, InboxTransaction, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError

FAST = Backoff(initial=0.01, maximum=0.02, jitter=0.0)


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


def _deferred(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Any,
    **kwargs: Any,
) -> payplane.Inbox:
    return kit.fake_inbox(store, registry, settings, handler, mode="deferred", **kwargs)


def test_recorded_and_acknowledged_without_running_the_handler(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A delivery is answered once committed as received, due now; repeats likewise."""
    handler = kit.Recorder()
    inbox = _deferred(store, registry, settings, handler)
    answers = [inbox.receive("fakepsp", *kit.delivery("d1")).status_code for _ in range(2)]
    assert answers == [204, 204]
    assert handler.calls == 0
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert (record.state, record.attempts) == (RecordState.RECEIVED, 0)
    assert record.next_attempt_at is not None
    assert record.next_attempt_at <= datetime.now(UTC)


def test_worker_applies_each_event_once(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """work() applies every due event, oldest first, then returns when idle."""
    handler = kit.Recorder()
    inbox = _deferred(store, registry, settings, handler)
    for name in ("d1", "d2", "d3"):
        inbox.receive("fakepsp", *kit.delivery(name))
    summary = inbox.work(until_idle=True)
    assert (summary.applied, summary.failed, summary.dead) == (3, 0, 0)
    assert [e.event_key for e in handler.events] == [f"deposit:d{i}:paid" for i in (1, 2, 3)]
    assert inbox.work(until_idle=True).attempts == 0
    assert {r.state for r in inbox.records()} == {RecordState.APPLIED}
    assert all(r.next_attempt_at is None for r in inbox.records())


def test_failed_attempt_waits_for_its_backoff_then_applies(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A raising handler: failed, error kept (scrubbed), not due before its next attempt."""
    handler = kit.Recorder()
    handler.fail_next = 1
    inbox = _deferred(
        store, registry, settings, handler, backoff=Backoff(initial=60, maximum=60, jitter=0)
    )
    inbox.receive("fakepsp", *kit.delivery("d1"))
    assert inbox.work(until_idle=True).failed == 1
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert (record.state, record.attempts) == (RecordState.FAILED, 1)
    assert record.last_error == "RuntimeError: boom with ***"
    assert record.next_attempt_at is not None
    assert record.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
    assert inbox.work(until_idle=True).attempts == 0  # not due yet
    assert inbox.work(until_idle=True, backoff=FAST).attempts == 0  # the schedule is stored
    assert inbox.retry("fakepsp", "deposit:d1:paid") is RecordState.APPLIED  # an operator
    assert len(handler.events) == 1


def test_event_dead_after_max_attempts_then_requeued(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """max_attempts failures make it dead (listed); requeue makes it due with a new count."""
    handler = kit.Recorder()
    handler.fail_next = 3
    inbox = _deferred(store, registry, settings, handler, max_attempts=3, backoff=FAST)
    inbox.receive("fakepsp", *kit.delivery("d1"))
    summaries = []
    while (record := inbox.get("fakepsp", "deposit:d1:paid")) and record.state is not (
        RecordState.DEAD
    ):
        summaries.append(inbox.work(until_idle=True, idle_wait=0.01))
        time.sleep(0.02)
    assert sum(s.failed for s in summaries) == 2
    assert sum(s.dead for s in summaries) == 1
    [dead] = inbox.records(state=RecordState.DEAD)
    assert (dead.attempts, dead.next_attempt_at) == (3, None)
    assert dead.dead_at is not None
    assert inbox.work(until_idle=True).attempts == 0  # workers leave it alone
    assert inbox.apply("fakepsp", "deposit:d1:paid") is RecordState.DEAD  # so does a task
    assert inbox.requeue("fakepsp", "deposit:d1:paid") is RecordState.RECEIVED
    after = inbox.get("fakepsp", "deposit:d1:paid")
    assert after is not None
    assert (after.attempts, after.dead_at, after.last_error) == (0, None, dead.last_error)
    assert inbox.work(until_idle=True).applied == 1
    assert len(handler.events) == 1


def test_requeue_of_unknown_or_applied_event(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """No record: LookupError; an applied event is left applied."""
    inbox = _deferred(store, registry, settings, kit.Recorder())
    with pytest.raises(LookupError, match="no recorded postback fakepsp/nope"):
        inbox.requeue("fakepsp", "nope")
    inbox.receive("fakepsp", *kit.delivery("d1"))
    inbox.work(until_idle=True)
    assert inbox.requeue("fakepsp", "deposit:d1:paid") is RecordState.APPLIED


def test_requeue_dead_requeues_every_dead_event(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """requeue_dead() brings back all dead events and returns how many."""
    handler = kit.Recorder()
    handler.fail_next = 2
    inbox = _deferred(store, registry, settings, handler, max_attempts=1)
    for name in ("d1", "d2", "d3"):
        inbox.receive("fakepsp", *kit.delivery(name))
    assert inbox.work(until_idle=True).dead == 2
    assert inbox.requeue_dead() == 2
    assert inbox.requeue_dead() == 0
    assert inbox.work(until_idle=True).applied == 2
    assert len(handler.events) == 3


def test_on_recorded_hands_off_new_events_after_commit(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """on_recorded(provider, account, key) once per new event, the record already there."""
    seen: list[tuple[str, str, str, RecordState | None]] = []

    def on_recorded(provider: str, account: str, event_key: str) -> None:
        record = inbox.get(provider, event_key, account=account)
        seen.append((provider, account, event_key, record.state if record else None))

    inbox = _deferred(store, registry, settings, kit.Recorder(), on_recorded=on_recorded)
    for _ in range(2):
        assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert seen == [("fakepsp", "", "deposit:d1:paid", RecordState.RECEIVED)]


def test_apply_is_exactly_once_for_duplicate_tasks(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The task's apply(): applied once however often the task runs."""
    handler = kit.Recorder()
    inbox = _deferred(store, registry, settings, handler, on_recorded=lambda *_: None)
    inbox.receive("fakepsp", *kit.delivery("d1"))
    states = [inbox.apply("fakepsp", "deposit:d1:paid") for _ in range(3)]
    assert states == [RecordState.APPLIED] * 3
    assert len(handler.events) == 1
    with pytest.raises(LookupError):
        inbox.apply("fakepsp", "nope")


def test_failing_hand_off_is_logged_acknowledged_and_swept(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising on_recorded: 'ok' all the same; sweep() hands the event off again."""
    handed: list[str] = []
    broken = [True]

    def on_recorded(provider: str, account: str, event_key: str) -> None:
        if broken:
            msg = "broker down"
            raise ConnectionError(msg)
        handed.append(event_key)

    inbox = _deferred(store, registry, settings, kit.Recorder(), on_recorded=on_recorded)
    with caplog.at_level(logging.ERROR, logger="payplane.inbox"):
        assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 204
    assert any("on_recorded failed" in r.getMessage() for r in caplog.records)
    broken.clear()
    assert inbox.sweep(older_than=timedelta(hours=1)) == 0  # not waiting that long yet
    assert inbox.sweep(older_than=timedelta(microseconds=1)) == 1
    assert handed == ["deposit:d1:paid"]
    inbox.apply("fakepsp", "deposit:d1:paid")
    assert inbox.sweep(older_than=timedelta(microseconds=1)) == 0  # applied: nothing waits


def test_on_recorded_needs_deferred_mode_and_sweep_needs_on_recorded(
    registry: payplane.Registry,
) -> None:
    """Misconfigurations name the field."""
    with pytest.raises(ConfigurationError, match="needs mode='deferred'") as info:
        payplane.Inbox(payplane.MemoryStore(), print, on_recorded=print, registry=registry)
    assert info.value.field == "on_recorded"
    inbox = payplane.Inbox(payplane.MemoryStore(), print, mode="deferred", registry=registry)
    with pytest.raises(ConfigurationError, match="has none") as info:
        inbox.sweep()
    with pytest.raises(ConfigurationError) as info:
        payplane.Inbox(payplane.MemoryStore(), print, mode="later", registry=registry)  # type: ignore[arg-type]
    assert info.value.field == "mode"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"initial": 0}, "initial"),
        ({"initial": float("inf")}, "initial"),
        ({"maximum": -1}, "maximum"),
        ({"jitter": -0.5}, "jitter"),
        ({"initial": 10, "maximum": 5}, "maximum"),
        ({"initial": True}, "initial"),
    ],
)
def test_bad_backoff_is_refused_naming_the_field(arguments: dict[str, Any], field: str) -> None:
    """Backoff's values are seconds; maximum is at least initial."""
    with pytest.raises(ConfigurationError) as info:
        Backoff(**arguments)
    assert info.value.field == field


@given(
    failures=st.integers(min_value=1, max_value=2000),
    initial=st.floats(min_value=0.001, max_value=100),
    extra=st.floats(min_value=0, max_value=10_000),
    jitter=st.floats(min_value=0, max_value=10),
)
def test_backoff_doubles_caps_and_jitters(
    failures: int, initial: float, extra: float, jitter: float
) -> None:
    """delay(n) = min(maximum, initial * 2**(n-1) + u), 0 <= u <= jitter; never overflows."""
    backoff = Backoff(initial=initial, maximum=initial + extra, jitter=jitter)
    delay = backoff.delay(failures)
    base = initial * 2.0 ** min(failures - 1, 64)
    assert min(backoff.maximum, base) <= delay <= min(backoff.maximum, base + jitter)


def test_lease_frees_an_event_a_hung_worker_holds(
    postgres_conninfo: str, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """PostgreSQL: past the lease the server ends a hung worker's session; another applies."""
    store = payplane.PostgresStore(postgres_conninfo)
    with store._get_pool().connection() as conn:
        conn.execute("CREATE TABLE credits (event_key TEXT NOT NULL)")
    in_handler = threading.Event()
    calls: list[str] = []

    def handler(event: PostbackEvent, transaction: InboxTransaction) -> None:
        transaction.connection.execute(
            "INSERT INTO credits (event_key) VALUES (%s)", (event.event_key,)
        )
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            in_handler.set()
            time.sleep(2.0)  # hangs past its lease

    inbox = _deferred(store, registry, settings, handler)
    try:
        inbox.receive("fakepsp", *kit.delivery("d1"))
        stop = threading.Event()
        hung = threading.Thread(
            target=inbox.work, kwargs={"stop": stop, "lease": 0.5, "idle_wait": 0.05}, name="hung"
        )
        hung.start()
        assert in_handler.wait(30)
        summary = inbox.work(max_events=1, lease=30, idle_wait=0.05)
        stop.set()
        hung.join(30)
        assert summary.applied == 1
        assert calls == ["hung", "MainThread"]
        with store._get_pool().connection() as conn:
            rows = conn.execute("SELECT event_key FROM credits").fetchall()
        assert rows == [("deposit:d1:paid",)]
        record = inbox.get("fakepsp", "deposit:d1:paid")
        assert record is not None
        assert (record.state, record.attempts) == (RecordState.APPLIED, 1)
    finally:
        store.close()
