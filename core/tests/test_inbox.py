"""The postback inbox over every store: recorded, applied once, acknowledged right."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import payplane_fakepsp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import payplane
from payplane import Inbox, InboxTransaction, PostbackEvent, RecordState
from payplane.hookspecs import hookimpl

STORES = ["memory", "sqlite", "postgres"]


def _store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> payplane.Store:
    if kind == "memory":
        return payplane.MemoryStore()
    if kind == "sqlite":
        return payplane.SQLiteStore(tmp_path / "inbox.sqlite3")
    return payplane.PostgresStore(request.getfixturevalue("postgres_conninfo"))


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = _store(request.param, tmp_path, request)
    yield store
    store.close()


class Recorder:
    """A handler that records events and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[PostbackEvent] = []
        self.fail_next = 0
        self.lock = threading.Lock()

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                msg = f"boom with {payplane_fakepsp.TEST_WEBHOOK_SECRET}"
                raise RuntimeError(msg)
            self.events.append(event)


def _inbox(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Callable[[PostbackEvent, InboxTransaction], object],
    **kwargs: Any,
) -> Inbox:
    return Inbox(store, handler, providers={"fakepsp": settings}, registry=registry, **kwargs)


def _delivery(event_id: str, status: str = "paid") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"kind": "deposit", "id": event_id, "status": status, "amount": "10.5", "currency": "USD"}
    ).encode()
    return body, {"x-signature": payplane_fakepsp.sign(body, payplane_fakepsp.TEST_WEBHOOK_SECRET)}


def test_first_delivery_is_applied(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A new event runs the handler once and is acknowledged."""
    handler = Recorder()
    inbox = _inbox(store, registry, settings, handler)
    answer = inbox.receive("fakepsp", *_delivery("d1"))
    assert answer.status_code == 204
    assert [e.event_key for e in handler.events] == ["deposit:d1:paid"]
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.state is RecordState.APPLIED
    assert record.attempts == 1
    assert isinstance(record.event, PostbackEvent)
    assert record.event.amount == payplane.Money("10.5", "USD")


def test_repeat_is_acknowledged_without_running_handler(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Re-deliveries of an applied event get the same 'ok' and nothing else."""
    handler = Recorder()
    inbox = _inbox(store, registry, settings, handler)
    answers = [inbox.receive("fakepsp", *_delivery("d1")).status_code for _ in range(3)]
    assert answers == [204, 204, 204]
    assert len(handler.events) == 1


def test_handler_failure_is_not_acknowledged_and_is_recorded(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A raising handler: non-2xx, FAILED with the scrubbed error; the next delivery applies."""
    handler = Recorder()
    handler.fail_next = 1
    inbox = _inbox(store, registry, settings, handler)
    assert inbox.receive("fakepsp", *_delivery("d1")).status_code == 503
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.state is RecordState.FAILED
    assert record.last_error is not None
    assert "RuntimeError: boom with ***" in record.last_error
    assert payplane_fakepsp.TEST_WEBHOOK_SECRET not in record.last_error
    assert inbox.receive("fakepsp", *_delivery("d1")).status_code == 204
    assert len(handler.events) == 1
    after = inbox.get("fakepsp", "deposit:d1:paid")
    assert after is not None
    assert (after.state, after.attempts, after.last_error) == (RecordState.APPLIED, 2, None)


def test_explicit_retry_applies_failed_event(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """retry() applies a failed event without a new delivery, and leaves applied ones alone."""
    handler = Recorder()
    handler.fail_next = 1
    inbox = _inbox(store, registry, settings, handler)
    inbox.receive("fakepsp", *_delivery("d1"))
    assert inbox.records(state=RecordState.FAILED)[0].event_key == "deposit:d1:paid"
    assert inbox.retry("fakepsp", "deposit:d1:paid") is RecordState.APPLIED
    assert inbox.retry("fakepsp", "deposit:d1:paid") is RecordState.APPLIED
    assert len(handler.events) == 1


def test_replay_runs_handler_again_and_counts(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """replay() is the explicit, counted way to apply twice."""
    handler = Recorder()
    inbox = _inbox(store, registry, settings, handler)
    inbox.receive("fakepsp", *_delivery("d1"))
    assert inbox.replay("fakepsp", "deposit:d1:paid") is True
    assert len(handler.events) == 2
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.replays == 1


def test_replay_of_unapplied_event_refused(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A failed event is retried, not replayed."""
    handler = Recorder()
    handler.fail_next = 1
    inbox = _inbox(store, registry, settings, handler)
    inbox.receive("fakepsp", *_delivery("d1"))
    with pytest.raises(ValueError, match="retry it instead"):
        inbox.replay("fakepsp", "deposit:d1:paid")
    with pytest.raises(LookupError):
        inbox.retry("fakepsp", "nope")


def test_bad_signature_is_rejected_for_audit(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A forged postback: 400, kept as rejected, handler never run."""
    handler = Recorder()
    inbox = _inbox(store, registry, settings, handler)
    body, _ = _delivery("d1")
    answer = inbox.receive("fakepsp", body, {"x-signature": "0" * 64})
    assert answer.status_code == 400
    assert handler.events == []
    assert inbox.records() == []
    (rejected,) = inbox.rejected()
    assert "SignatureError" in rejected.error
    assert rejected.body == body


def test_stored_bodies_never_hold_secrets(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A body that carries a secret is stored with the secret replaced."""
    handler = Recorder()
    inbox = _inbox(store, registry, settings, handler)
    secret = payplane_fakepsp.TEST_WEBHOOK_SECRET
    inbox.receive("fakepsp", f'{{"leak": "{secret}"}}'.encode(), {})
    (rejected,) = inbox.rejected()
    assert secret.encode() not in rejected.body
    assert b"***" in rejected.body


def test_too_large_and_unknown_provider(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Size limit first (413); a provider the inbox does not serve is 404."""
    inbox = _inbox(store, registry, settings, Recorder(), max_body=100)
    assert inbox.receive("fakepsp", b"x" * 101).status_code == 413
    assert inbox.receive("nope", b"{}").status_code == 404
    assert inbox.rejected()[0].error.startswith("[fakepsp] body of 101 bytes")


def test_concurrent_deliveries_apply_once(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Eight threads deliver one event at once: one handler run, all answered."""
    runs: list[int] = []
    started = threading.Event()

    def slow(event: PostbackEvent, transaction: InboxTransaction) -> None:
        runs.append(1)
        started.set()
        threading.Event().wait(0.2)

    inbox = _inbox(store, registry, settings, slow, wait=5.0)
    answers: list[int] = []

    def deliver() -> None:
        answers.append(inbox.receive("fakepsp", *_delivery("d1")).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [1]
    assert answers == [204] * 8


def test_waiting_delivery_gives_up_within_bound(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A delivery that cannot get the event's lock in time asks for a re-send."""
    release = threading.Event()
    entered = threading.Event()

    def blocking(event: PostbackEvent, transaction: InboxTransaction) -> None:
        entered.set()
        release.wait(10)

    inbox = _inbox(store, registry, settings, blocking, wait=0.2)
    first: list[int] = []
    thread = threading.Thread(
        target=lambda: first.append(inbox.receive("fakepsp", *_delivery("d1")).status_code)
    )
    thread.start()
    assert entered.wait(5)
    assert inbox.receive("fakepsp", *_delivery("d1")).status_code == 503
    release.set()
    thread.join()
    assert first == [204]


class _Applied:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    @hookimpl
    def payplane_postback_applied(self, event: PostbackEvent, replay: bool) -> None:
        self.seen.append((event.event_key, replay))


def test_applied_hook(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Observers hear about each application and replay, after commit."""
    observer = _Applied()
    registry.register(observer, name="applied")
    inbox = _inbox(store, registry, settings, Recorder())
    inbox.receive("fakepsp", *_delivery("d1"))
    inbox.receive("fakepsp", *_delivery("d1"))
    inbox.replay("fakepsp", "deposit:d1:paid")
    assert observer.seen == [("deposit:d1:paid", False), ("deposit:d1:paid", True)]


def test_handler_writes_commit_with_the_applied_mark(
    tmp_path: Path, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Writes through the inbox's transaction roll back when the handler fails."""
    store = payplane.SQLiteStore(tmp_path / "inbox.sqlite3")
    with contextlib.closing(sqlite3.connect(tmp_path / "inbox.sqlite3")) as conn:
        conn.execute("CREATE TABLE credits (event_key TEXT PRIMARY KEY)")
    fail = [True]

    def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
        transaction.connection.execute("INSERT INTO credits VALUES (?)", (event.event_key,))
        if fail.pop():
            msg = "after the write"
            raise RuntimeError(msg)

    fail.insert(0, False)
    inbox = _inbox(store, registry, settings, credit)
    assert inbox.receive("fakepsp", *_delivery("d1")).status_code == 503
    count = sqlite3.connect(tmp_path / "inbox.sqlite3").execute("SELECT COUNT(*) FROM credits")
    assert count.fetchone() == (0,)
    assert inbox.receive("fakepsp", *_delivery("d1")).status_code == 204
    count = sqlite3.connect(tmp_path / "inbox.sqlite3").execute("SELECT COUNT(*) FROM credits")
    assert count.fetchone() == (1,)


def test_newer_schema_refused(tmp_path: Path) -> None:
    """A database written by a newer payplane is not silently used."""
    path = tmp_path / "inbox.sqlite3"
    payplane.SQLiteStore(path).close()
    sqlite3.connect(path, isolation_level=None).execute("UPDATE payplane_schema SET version = 99")
    with pytest.raises(payplane.exceptions.ConfigurationError, match="version 99"):
        payplane.SQLiteStore(path)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(body=st.binary(max_size=2048))
def test_arbitrary_bodies_never_ok(
    body: bytes, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Arbitrary bytes: an answer every time, never a 2xx, never an exception."""
    handler = Recorder()
    inbox = _inbox(payplane.MemoryStore(), registry, settings, handler)
    answer = inbox.receive("fakepsp", body, {"x-signature": "00"})
    assert answer.status_code >= 400
    assert handler.events == []


async def test_async_receive(
    tmp_path: Path, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """receive_async gives the same answers."""
    handler = Recorder()
    inbox = _inbox(payplane.SQLiteStore(tmp_path / "i.db"), registry, settings, handler)
    assert (await inbox.receive_async("fakepsp", *_delivery("d1"))).status_code == 204
    assert (await inbox.receive_async("fakepsp", *_delivery("d1"))).status_code == 204
    assert len(handler.events) == 1


async def test_asgi_app(
    tmp_path: Path, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The Starlette app answers with the provider's answer."""
    import httpx  # noqa: PLC0415

    handler = Recorder()
    inbox = _inbox(
        payplane.SQLiteStore(tmp_path / "i.db"), registry, settings, handler, max_body=500
    )
    app = payplane.postback_app(inbox)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body, headers = _delivery("d1")
        ok = await client.post("/fakepsp", content=body, headers=headers)
        big = await client.post("/fakepsp", content=b"x" * 1000)
        missing = await client.get("/fakepsp")
    assert ok.status_code == 204
    assert big.status_code == 413
    assert missing.status_code == 405
    assert len(handler.events) == 1
