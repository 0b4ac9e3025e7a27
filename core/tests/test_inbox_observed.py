"""The inbox's observation hooks, end to end: one delivery, one outcome; one run, one close.

Each delivery (``Inbox.receive``, and the ASGI app's refusal of a body over the limit)
opens with ``payplane_postback_received`` and closes with one
``payplane_postback_answered`` carrying its outcome, reason and status; each handler run
(inline, a deferred worker's, a task's ``apply``, an operator's ``retry`` and
``replay``) opens with ``payplane_postback_applying`` and closes with
``payplane_postback_applied`` or ``payplane_postback_failed``; an event a deferred
worker gives up on is reported once with ``payplane_postback_dead``. The last tests
record them with OpenTelemetry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import payplane_fakepsp
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from payplane_inboxkit import STORES, Recorder, delivery, fake_inbox, make_store
from payplane_otelkit import Telemetry

import payplane
import payplane.contrib.opentelemetry as otel
from payplane import Backoff, OtherEvent, PostbackEvent, RecordState
from payplane._inbox._hooks import _UNOBSERVED_DELIVERY, _UNOBSERVED_RUN
from payplane._inbox._store import EventRef, InboxBusyError, StoreUnavailableError
from payplane._redaction import redactor_for
from payplane.exceptions import RedactedCause
from payplane.hookspecs import POSTBACK_OUTCOMES, REJECTION_REASONS, hookimpl

OPENING = {"payplane_postback_received": "delivery", "payplane_postback_applying": "run"}
CLOSING = {
    "payplane_postback_answered": "delivery",
    "payplane_postback_applied": "run",
    "payplane_postback_failed": "run",
}
ACCOUNTS = ("", "shop-a")
FAST = Backoff(initial=0.001, maximum=0.001, jitter=0.0)
SECRET = redactor_for({payplane_fakepsp.TEST_WEBHOOK_SECRET, payplane_fakepsp.TEST_API_KEY})


class Observer:
    """Records every inbox hook call, in order, with every argument."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def payplane_postback_received(self, provider: str, account: str | None) -> None:
        self.calls.append(
            ("payplane_postback_received", {"provider": provider, "account": account})
        )

    @hookimpl
    def payplane_postback_answered(  # noqa: PLR0917 - hooks take arguments by name
        self,
        provider: str,
        account: str | None,
        event: PostbackEvent | OtherEvent | None,
        outcome: str,
        reason: str | None,
        status_code: int,
        elapsed: float,
    ) -> None:
        self.calls.append(
            (
                "payplane_postback_answered",
                {
                    "provider": provider,
                    "account": account,
                    "event": event,
                    "outcome": outcome,
                    "reason": reason,
                    "status_code": status_code,
                    "elapsed": elapsed,
                },
            )
        )

    @hookimpl
    def payplane_postback_applying(
        self, provider: str, account: str | None, event: PostbackEvent, replay: bool
    ) -> None:
        self.calls.append(
            (
                "payplane_postback_applying",
                {"provider": provider, "account": account, "event": event, "replay": replay},
            )
        )

    @hookimpl
    def payplane_postback_applied(
        self, provider: str, account: str | None, event: PostbackEvent, replay: bool
    ) -> None:
        self.calls.append(
            (
                "payplane_postback_applied",
                {"provider": provider, "account": account, "event": event, "replay": replay},
            )
        )

    @hookimpl
    def payplane_postback_failed(
        self, provider: str, account: str | None, event: PostbackEvent, error: BaseException
    ) -> None:
        self.calls.append(
            (
                "payplane_postback_failed",
                {"provider": provider, "account": account, "event": event, "error": error},
            )
        )

    @hookimpl
    def payplane_postback_dead(
        self,
        provider: str,
        account: str | None,
        event: PostbackEvent,
        error: str | None,
        attempts: int,
    ) -> None:
        self.calls.append(
            (
                "payplane_postback_dead",
                {
                    "provider": provider,
                    "account": account,
                    "event": event,
                    "error": error,
                    "attempts": attempts,
                },
            )
        )

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kw for called, kw in self.calls if called == name]

    def answered(self) -> dict[str, Any]:
        (answered,) = self.of("payplane_postback_answered")
        return answered

    def check_pairs(self) -> None:
        """Every opening hook closed once, later, and nested (a dead report after its run)."""
        stack: list[str] = []
        for name in self.names():
            if name in OPENING:
                stack.append(OPENING[name])
            elif name in CLOSING:
                assert stack.pop() == CLOSING[name]
        assert stack == []


@pytest.fixture
def observer(registry: payplane.Registry) -> Observer:
    observer = Observer()
    registry.register(observer, name="observer")
    return observer


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


def _inbox(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Recorder,
    **kwargs: Any,
) -> payplane.Inbox:
    """An inbox accepting FakePSP's one account and its account ``shop-a``."""
    return payplane.Inbox(
        store,
        handler,
        providers={"fakepsp": settings},
        accounts={"fakepsp": {"shop-a": settings}},
        registry=registry,
        **kwargs,
    )


@pytest.fixture
def inbox(
    registry: payplane.Registry, settings: dict[str, object], handler: Recorder
) -> Iterator[payplane.Inbox]:
    inbox = _inbox(payplane.MemoryStore(), registry, settings, handler, max_body=2048)
    yield inbox
    inbox.store.close()


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {"x-signature": payplane_fakepsp.sign(body, payplane_fakepsp.TEST_WEBHOOK_SECRET)}


def _other(event_id: str) -> tuple[bytes, dict[str, str]]:
    return _signed(json.dumps({"kind": "other", "id": event_id}).encode())


def _bad_signature() -> tuple[bytes, dict[str, str]]:
    body, _ = delivery("d9")
    return body, {"x-signature": "0" * 64}


def test_a_new_event_is_received_applied_and_answered(
    inbox: payplane.Inbox, observer: Observer
) -> None:
    """received, applying, applied, answered: outcome ``applied``, the event, its status."""
    answer = inbox.receive("fakepsp", *delivery("d1"))
    assert observer.names() == [
        "payplane_postback_received",
        "payplane_postback_applying",
        "payplane_postback_applied",
        "payplane_postback_answered",
    ]
    answered = observer.answered()
    assert (answered["outcome"], answered["reason"], answered["status_code"]) == (
        "applied",
        None,
        answer.status_code,
    )
    assert answered["event"].event_key == "deposit:d1:paid"
    assert answered["elapsed"] >= 0
    assert {kw["account"] for _name, kw in observer.calls} == {None}


# What to do to the inbox first, given the account the delivery goes to.
Prepare = Callable[[payplane.Inbox, Recorder, str], None]
# (name, prepare, the delivery as (provider, body, headers), outcome, reason, status)
Scenario = tuple[str, Prepare, Callable[[], tuple[Any, ...]], str, str | None, int]


def _nothing(_inbox: payplane.Inbox, _handler: Recorder, _account: str) -> None:
    pass


def _applied_before(inbox: payplane.Inbox, _handler: Recorder, account: str) -> None:
    inbox.receive("fakepsp", *delivery("d1"), account=account)


def _failing_handler(_inbox: payplane.Inbox, handler: Recorder, _account: str) -> None:
    handler.fail_next = 1


class _Buggy:
    def verify_postback(self, body: bytes, headers: object) -> None:
        raise KeyError("params")


def _buggy_verifier(inbox: payplane.Inbox, _handler: Recorder, account: str) -> None:
    inbox._providers["fakepsp", account].verifier = _Buggy()  # type: ignore[assignment]


def _store_raising(*names: str, error: Exception) -> Prepare:
    def prepare(inbox: payplane.Inbox, _handler: Recorder, _account: str) -> None:
        def raising(*_args: object, **_kwargs: object) -> None:
            raise error

        for name in names:
            setattr(inbox.store, name, raising)

    return prepare


def _deferred(inbox: payplane.Inbox, _handler: Recorder, _account: str) -> None:
    inbox.mode = "deferred"


def _recorded_before(inbox: payplane.Inbox, handler: Recorder, account: str) -> None:
    _deferred(inbox, handler, account)
    inbox.receive("fakepsp", *delivery("d1"), account=account)


def _new() -> tuple[Any, ...]:
    return ("fakepsp", *delivery("d1"))


SCENARIOS: list[Scenario] = [
    ("new", _nothing, _new, "applied", None, 204),
    ("repeat", _applied_before, _new, "repeat", None, 204),
    ("other", _nothing, lambda: ("fakepsp", *_other("o1")), "ignored", None, 204),
    ("forged", _nothing, lambda: ("fakepsp", *_bad_signature()), "rejected", "signature", 400),
    ("garbage", _nothing, lambda: ("fakepsp", *_signed(b"not json")), "rejected", "malformed", 400),
    ("nul key", _nothing, lambda: ("fakepsp", *delivery("a\x00b")), "rejected", "malformed", 400),
    ("huge", _nothing, lambda: ("fakepsp", b"x" * 4096, {}), "rejected", "too_large", 413),
    ("nobody", _nothing, lambda: ("acme", *delivery("d1")), "rejected", "unknown_provider", 404),
    ("handler", _failing_handler, _new, "failed", None, 503),
    ("bug", _buggy_verifier, _new, "error", None, 503),
    ("busy", _store_raising("applying", error=InboxBusyError()), _new, "busy", None, 503),
    (
        "down",
        _store_raising("applying", error=StoreUnavailableError("gone")),
        _new,
        "unavailable",
        None,
        503,
    ),
    (
        "refused, not kept",
        _store_raising("reject", error=StoreUnavailableError("gone")),
        lambda: ("fakepsp", *_bad_signature()),
        "unavailable",
        None,
        503,
    ),
    ("deferred", _deferred, _new, "recorded", None, 204),
    ("deferred repeat", _recorded_before, _new, "repeat", None, 204),
    (
        "other, busy",
        _store_raising("record", error=InboxBusyError()),
        lambda: ("fakepsp", *_other("o1")),
        "busy",
        None,
        503,
    ),
    (
        "other, down",
        _store_raising("record", error=StoreUnavailableError("gone")),
        lambda: ("fakepsp", *_other("o1")),
        "unavailable",
        None,
        503,
    ),
]


@pytest.mark.parametrize("account", ACCOUNTS, ids=["one account", "shop-a"])
@pytest.mark.parametrize(
    ("name", "prepare", "make", "outcome", "reason", "status"),
    SCENARIOS,
    ids=[scenario[0] for scenario in SCENARIOS],
)
def test_each_delivery_is_answered_with_its_outcome(  # noqa: PLR0917 - the scenario's parts
    inbox: payplane.Inbox,
    observer: Observer,
    handler: Recorder,
    name: str,
    prepare: Prepare,
    make: Callable[[], tuple[Any, ...]],
    outcome: str,
    reason: str | None,
    status: int,
    account: str,
) -> None:
    """Every way a delivery ends, to the provider's one account and to a named one: its
    documented outcome and reason, the answer's status, the account, and hooks that pair
    up."""
    prepare(inbox, handler, account)
    observer.calls.clear()
    answer = inbox.receive(*make(), account=account)
    answered = observer.answered()
    assert (answered["outcome"], answered["reason"], answered["status_code"]) == (
        outcome,
        reason,
        status,
    )
    assert answer.status_code == status
    assert outcome in POSTBACK_OUTCOMES
    assert reason is None or reason in REJECTION_REASONS
    assert {kw["account"] for _name, kw in observer.calls} == {account or None}
    observer.check_pairs()
    # Every scenario here that is refused, or fails on payplane's side, does so before
    # the postback verified (a NUL in the key: after); the others carry the event.
    verified = outcome not in {"rejected", "error"} and name != "refused, not kept"
    assert (answered["event"] is not None) == (verified or name == "nul key")


def test_an_account_the_inbox_does_not_serve_is_unknown_account(
    inbox: payplane.Inbox, observer: Observer
) -> None:
    """A delivery to an account of an accepted provider that is not configured: 404,
    ``unknown_account``, the sender's account name handed on as given."""
    answer = inbox.receive("fakepsp", *delivery("d1"), account="shop-z")
    answered = observer.answered()
    assert (answered["outcome"], answered["reason"], answered["account"]) == (
        "rejected",
        "unknown_account",
        "shop-z",
    )
    assert answer.status_code == 404


def test_a_failed_handler_is_shown_redacted(
    inbox: payplane.Inbox, observer: Observer, handler: Recorder
) -> None:
    """The handler raised with the webhook secret in its message: observers get a stand-in
    of its type, the secret replaced."""
    handler.fail_next = 1
    inbox.receive("fakepsp", *delivery("d1"))
    (failed,) = observer.of("payplane_postback_failed")
    error = failed["error"]
    assert isinstance(error, RedactedCause)
    assert error.original_type is RuntimeError
    assert not SECRET.found_in(str(error))
    assert "***" in str(error)


@contextlib.asynccontextmanager
async def _client(inbox: payplane.Inbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=payplane.postback_app(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("account", ACCOUNTS, ids=["one account", "shop-a"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_a_body_over_the_limit_read_by_the_asgi_app_is_a_delivery(
    inbox: payplane.Inbox, observer: Observer, account: str, *, declared: bool
) -> None:
    """The ASGI app refuses a body over the limit, declared or found while streaming: one
    delivery, rejected as ``too_large`` with 413, under its account."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1024

    path = f"/fakepsp/{account}" if account else "/fakepsp"
    async with _client(inbox) as client:
        if declared:
            response = await client.post(path, content=b"x" * 4096)
        else:
            response = await client.post(path, content=chunks())
    assert response.status_code == 413
    answered = observer.answered()
    assert (answered["outcome"], answered["reason"], answered["status_code"]) == (
        "rejected",
        "too_large",
        413,
    )
    assert answered["account"] == (account or None)
    observer.check_pairs()


async def test_the_asgi_app_to_an_unknown_provider_is_a_delivery(
    inbox: payplane.Inbox, observer: Observer
) -> None:
    """A too-large body sent where no postbacks are accepted: ``unknown_provider``, 404."""
    async with _client(inbox) as client:
        response = await client.post("/acme", content=b"x" * 4096)
    assert response.status_code == 404
    answered = observer.answered()
    assert (answered["outcome"], answered["reason"]) == ("rejected", "unknown_provider")


class _CommitLost:
    """Wraps a store: the first transaction that reaches its commit loses it (rolled back,
    ``StoreUnavailableError`` with ``commit_sent``), as a connection dying during COMMIT."""

    class _Lost(Exception):  # noqa: N818 - a signal, inside the wrapper only
        pass

    def __init__(self, store: payplane.Store) -> None:
        self._store = store
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @classmethod
    def _lose(cls) -> NoReturn:
        raise cls._Lost

    def _losing(self, held: Any) -> Iterator[Any]:
        try:
            with held as context:
                yield context
                if context is not None and not self.lost:
                    self.lost = True
                    self._lose()  # inside the store's transaction: it rolls back
        except self._Lost:
            msg = "database connection lost during COMMIT (outcome unknown)"
            raise StoreUnavailableError(msg, commit_sent=True) from None

    @contextlib.contextmanager
    def applying(self, ref: EventRef, **kwargs: Any) -> Iterator[Any]:
        yield from self._losing(self._store.applying(ref, **kwargs))

    @contextlib.contextmanager
    def claim(self, **kwargs: Any) -> Iterator[Any]:
        yield from self._losing(self._store.claim(**kwargs))


def test_a_lost_commit_closes_the_run_and_the_retry_applies(
    registry: payplane.Registry, settings: dict[str, object], observer: Observer
) -> None:
    """Inline: the commit is lost after the handler ran; that run fails with a stand-in for
    the store's error, the inbox's one retry applies, the delivery is ``applied``."""
    store = _CommitLost(payplane.MemoryStore())
    inbox = fake_inbox(store, registry, settings, Recorder())
    assert inbox.receive("fakepsp", *delivery("d1")).status_code == 204
    assert observer.names() == [
        "payplane_postback_received",
        "payplane_postback_applying",
        "payplane_postback_failed",
        "payplane_postback_applying",
        "payplane_postback_applied",
        "payplane_postback_answered",
    ]
    (failed,) = observer.of("payplane_postback_failed")
    assert failed["error"].original_type is ConnectionError
    assert observer.answered()["outcome"] == "applied"


def test_a_workers_lost_commit_closes_the_run_and_the_next_claim_applies(
    registry: payplane.Registry, settings: dict[str, object], observer: Observer
) -> None:
    """Deferred: a worker's commit is lost; its run fails, the next claim applies."""
    store = _CommitLost(payplane.MemoryStore())
    inbox = fake_inbox(store, registry, settings, Recorder(), mode="deferred")
    inbox.receive("fakepsp", *delivery("d1"))
    observer.calls.clear()
    inbox.work(until_idle=True, idle_wait=0.001, max_events=1)
    inbox.work(until_idle=True)
    assert observer.names() == [
        "payplane_postback_applying",
        "payplane_postback_failed",
        "payplane_postback_applying",
        "payplane_postback_applied",
    ]
    (failed,) = observer.of("payplane_postback_failed")
    assert failed["error"].original_type is ConnectionError


def test_retry_and_replay_run_the_handler_outside_any_delivery(
    inbox: payplane.Inbox, observer: Observer, handler: Recorder
) -> None:
    """An operator's retry and replay, of an account's event: handler runs observed, with
    the account, and no delivery hooks."""
    handler.fail_next = 1
    inbox.receive("fakepsp", *delivery("d1"), account="shop-a")
    observer.calls.clear()
    inbox.retry("fakepsp", "deposit:d1:paid", account="shop-a")
    inbox.replay("fakepsp", "deposit:d1:paid", account="shop-a")
    assert [(name, kw.get("replay"), kw["account"]) for name, kw in observer.calls] == [
        ("payplane_postback_applying", False, "shop-a"),
        ("payplane_postback_applied", False, "shop-a"),
        ("payplane_postback_applying", True, "shop-a"),
        ("payplane_postback_applied", True, "shop-a"),
    ]


# -- deferred mode ------------------------------------------------------------------------


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = make_store(request.param, tmp_path, request)
    yield store
    store.close()


def _work_until(inbox: payplane.Inbox, ref: tuple[str, str], state: RecordState) -> None:
    """Run workers until the event *ref* (account, key) is in *state* (a bounded number)."""
    account, key = ref
    for _ in range(2000):
        record = inbox.get("fakepsp", key, account=account)
        if record is not None and record.state is state:
            return
        inbox.work(until_idle=True, idle_wait=0.001)
        time.sleep(0.002)  # the backoff's millisecond
    pytest.fail(f"{key} never became {state.value}")


def test_work_brackets_each_attempt_failing_then_succeeding(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    observer: Observer,
) -> None:
    """A worker's runs: the delivery is ``recorded``; the first run fails, the next one
    applies, each bracketed, under the event's account, with no dead report."""
    handler = Recorder()
    handler.fail_next = 1
    inbox = _inbox(store, registry, settings, handler, mode="deferred", backoff=FAST)
    inbox.receive("fakepsp", *delivery("d1"), account="shop-a")
    assert observer.answered()["outcome"] == "recorded"
    observer.calls.clear()
    _work_until(inbox, ("shop-a", "deposit:d1:paid"), RecordState.APPLIED)
    assert [(name, kw["account"]) for name, kw in observer.calls] == [
        ("payplane_postback_applying", "shop-a"),
        ("payplane_postback_failed", "shop-a"),
        ("payplane_postback_applying", "shop-a"),
        ("payplane_postback_applied", "shop-a"),
    ]


def test_an_event_becoming_dead_is_reported_once(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    observer: Observer,
) -> None:
    """Past max_attempts a worker makes the event dead: one dead report, after the run's
    failure, with the attempts and the recorded error (secret replaced). Workers leave
    it; an operator's retry that fails again reports no second death; once re-queued and
    dead again, it is reported again."""
    handler = Recorder()
    handler.fail_next = 5
    inbox = _inbox(
        store, registry, settings, handler, mode="deferred", backoff=FAST, max_attempts=2
    )
    inbox.receive("fakepsp", *delivery("d1"))
    observer.calls.clear()
    _work_until(inbox, ("", "deposit:d1:paid"), RecordState.DEAD)
    assert observer.names() == [
        "payplane_postback_applying",
        "payplane_postback_failed",
        "payplane_postback_applying",
        "payplane_postback_failed",
        "payplane_postback_dead",
    ]
    (dead,) = observer.of("payplane_postback_dead")
    assert (dead["provider"], dead["account"], dead["attempts"]) == ("fakepsp", None, 2)
    assert dead["event"].event_key == "deposit:d1:paid"
    assert dead["error"].startswith("RuntimeError: boom with ***")
    inbox.work(until_idle=True)
    assert inbox.retry("fakepsp", "deposit:d1:paid") is RecordState.DEAD
    assert len(observer.of("payplane_postback_dead")) == 1
    assert inbox.requeue("fakepsp", "deposit:d1:paid") is RecordState.RECEIVED
    _work_until(inbox, ("", "deposit:d1:paid"), RecordState.DEAD)
    assert len(observer.of("payplane_postback_dead")) == 2
    observer.check_pairs()


def test_a_tasks_apply_is_observed_and_its_death_reported(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    observer: Observer,
) -> None:
    """The task-queue hand-off: each apply() is a run; the one that makes the event dead
    reports it; a duplicate task of a dead event runs nothing."""
    handler = Recorder()
    handler.fail_next = 2
    inbox = _inbox(
        store,
        registry,
        settings,
        handler,
        mode="deferred",
        on_recorded=lambda *_: None,
        max_attempts=2,
    )
    inbox.receive("fakepsp", *delivery("d1"), account="shop-a")
    inbox.receive("fakepsp", *delivery("d2"), account="shop-a")
    observer.calls.clear()
    assert inbox.apply("fakepsp", "deposit:d1:paid", account="shop-a") is RecordState.FAILED
    assert inbox.apply("fakepsp", "deposit:d1:paid", account="shop-a") is RecordState.DEAD
    assert inbox.apply("fakepsp", "deposit:d1:paid", account="shop-a") is RecordState.DEAD
    assert inbox.apply("fakepsp", "deposit:d2:paid", account="shop-a") is RecordState.APPLIED
    assert [(name, kw["account"]) for name, kw in observer.calls] == [
        ("payplane_postback_applying", "shop-a"),
        ("payplane_postback_failed", "shop-a"),
        ("payplane_postback_applying", "shop-a"),
        ("payplane_postback_failed", "shop-a"),
        ("payplane_postback_dead", "shop-a"),
        ("payplane_postback_applying", "shop-a"),
        ("payplane_postback_applied", "shop-a"),
    ]


# -- no observers, failing observers ------------------------------------------------------


def test_nothing_is_called_when_no_plugin_observes_the_inbox(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Without implementations no inbox hook is called and no delivery or run is built:
    the inbox pays nothing for the hooks."""
    called: list[str] = []
    registry.plugin_manager.add_hookcall_monitoring(
        lambda name, _impls, _kwargs: called.append(name), lambda *_args: None
    )
    handler = Recorder()
    handler.fail_next = 1
    inbox = _inbox(payplane.MemoryStore(), registry, settings, handler, max_attempts=1)
    assert inbox._hooks.delivery("fakepsp", "") is _UNOBSERVED_DELIVERY
    assert inbox._hooks.run() is _UNOBSERVED_RUN
    inbox.receive("fakepsp", *delivery("d1"))
    inbox.receive("fakepsp", *delivery("d1"))
    inbox.receive("fakepsp", *_bad_signature())
    inbox.mode = "deferred"
    inbox.receive("fakepsp", *delivery("d2"))
    handler.fail_next = 1
    inbox.work(until_idle=True)
    assert [name for name in called if name.startswith("payplane_postback")] == []


class Broken:
    """Raises in every inbox hook."""

    @hookimpl
    def payplane_postback_received(self) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def payplane_postback_applying(self) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def payplane_postback_applied(self) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def payplane_postback_failed(self) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def payplane_postback_dead(self) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def payplane_postback_answered(self) -> None:
        raise RuntimeError("observer bug")


def test_a_failing_observer_changes_no_answer(
    inbox: payplane.Inbox,
    registry: payplane.Registry,
    handler: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Observers that raise everywhere: the event is applied once and acknowledged, a
    failing handler still asks for a re-send; each observer failure is logged."""
    registry.register(Broken(), name="broken")
    with caplog.at_level(logging.ERROR, logger="payplane.inbox"):
        assert inbox.receive("fakepsp", *delivery("d1")).status_code == 204
        assert inbox.receive("fakepsp", *delivery("d1")).status_code == 204
        handler.fail_next = 1
        assert inbox.receive("fakepsp", *delivery("d2")).status_code == 503
    assert [event.event_key for event in handler.events] == ["deposit:d1:paid"]
    logged = {r.getMessage() for r in caplog.records if r.name == "payplane.inbox"}
    assert {
        f"a {name} implementation failed; the answer stands"
        for name in (
            "payplane_postback_received",
            "payplane_postback_applying",
            "payplane_postback_applied",
            "payplane_postback_failed",
            "payplane_postback_answered",
        )
    } <= logged


def test_a_failing_observer_changes_no_deferred_outcome(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Deferred, with observers that raise everywhere: the worker's summary and the
    record's state are what they are without them (one applied, one dead)."""
    registry.register(Broken(), name="broken")
    handler = Recorder()
    inbox = _inbox(payplane.MemoryStore(), registry, settings, handler, mode="deferred")
    assert inbox.receive("fakepsp", *delivery("d1")).status_code == 204
    handler.fail_next = 1
    summary = inbox.work(until_idle=True, max_attempts=1)
    handler.fail_next = 0
    inbox.receive("fakepsp", *delivery("d2"))
    assert inbox.work(until_idle=True).applied == 1
    assert summary.dead == 1
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.state is RecordState.DEAD


# -- with OpenTelemetry ---------------------------------------------------------------------


@pytest.fixture
def telemetry(registry: payplane.Registry) -> Iterator[Telemetry]:
    telemetry = Telemetry()
    instrumentation = otel.instrument(
        registry, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    instrumentation.uninstrument()
    telemetry.shutdown()


def test_receive_and_apply_spans_and_metrics(
    inbox: payplane.Inbox, telemetry: Telemetry, handler: Recorder
) -> None:
    """Through Inbox.receive: a SERVER span per delivery, an INTERNAL span per handler run,
    and the inbox's metrics; no secret anywhere."""
    inbox.receive("fakepsp", *delivery("d1"))
    inbox.receive("fakepsp", *delivery("d1"))
    inbox.receive("fakepsp", *_bad_signature())
    handler.fail_next = 1
    inbox.receive("fakepsp", *delivery("d2"), account="shop-a")
    receives = [span for span in telemetry.spans() if span.name == "payplane.postback.receive"]
    assert [(span.kind, (span.attributes or {})["payplane.outcome"]) for span in receives] == [
        (SpanKind.SERVER, "applied"),
        (SpanKind.SERVER, "repeat"),
        (SpanKind.SERVER, "rejected"),
        (SpanKind.SERVER, "failed"),
    ]
    applied, _repeat, _forged, failed = receives
    (run,) = telemetry.children(applied)
    assert (run.name, run.kind) == ("payplane.postback.apply", SpanKind.INTERNAL)
    (failed_run,) = telemetry.children(failed)
    assert (failed_run.attributes or {})["error.type"] == "RuntimeError"
    assert (failed_run.attributes or {})["payplane.account"] == "shop-a"
    assert (failed.attributes or {})["payplane.account"] == "shop-a"
    assert failed.status.status_code is StatusCode.ERROR
    outcomes = {
        dict(attributes)["payplane.outcome"]: count
        for attributes, count in telemetry.counts("payplane.inbox.received").items()
    }
    assert outcomes == {"applied": 1, "repeat": 1, "rejected": 1, "failed": 1}
    assert sum(telemetry.counts("payplane.inbox.applied").values()) == 1
    assert sum(telemetry.counts("payplane.inbox.failed").values()) == 1
    assert sum(telemetry.counts("payplane.inbox.rejected").values()) == 1
    assert sum(telemetry.counts("payplane.inbox.handler.duration").values()) == 2
    assert not [text for text in telemetry.texts() if SECRET.found_in(text)]


async def test_receive_async_keeps_the_spans_together(
    inbox: payplane.Inbox, telemetry: Telemetry
) -> None:
    """receive_async runs the delivery in a worker thread: the run still nests inside it."""
    await inbox.receive_async("fakepsp", *delivery("d1"))
    receive = telemetry.span("payplane.postback.receive")
    (run,) = telemetry.children(receive)
    assert run.name == "payplane.postback.apply"
