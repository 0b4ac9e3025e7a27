"""The clients' observation hooks: operations, attempts, retries, failures, pairing.

Every client call opens with ``payplane_operation_started`` and closes with one
``payplane_operation_finished``; every attempt opens with ``payplane_request_sent`` and
closes with one ``payplane_response_received`` or ``payplane_request_failed``; pairs
nest, in the caller's thread or task. An observer's failure changes no call's outcome.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

import httpx
import payplane_fakepsp
import pytest
from payplane_fakepsp import TEST_API_KEY

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    HttpRequest,
    HttpResponse,
    LookupRequest,
    Money,
    PaymentKind,
    RefundRequest,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane._redaction import redactor_for
from payplane.exceptions import (
    ClientClosedError,
    NotFoundError,
    RedactedCause,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane.hookspecs import OPERATION_OUTCOMES, hookimpl

FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")
OPENING = {"payplane_operation_started": "operation", "payplane_request_sent": "attempt"}
CLOSING = {
    "payplane_operation_finished": "operation",
    "payplane_response_received": "attempt",
    "payplane_request_failed": "attempt",
}


class Recorder:
    """Records every client hook call in order, and the context each one ran in.

    ``payplane_operation_started`` sets a context variable; the hooks that follow note
    whether they see it, which is how an observer keeps per-call state.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.seen: list[tuple[str, str | None]] = []
        self.current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            "current", default=None
        )

    def _note(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        self.seen.append((name, self.current.get()))

    @hookimpl
    def payplane_operation_started(
        self, provider: str, operation: str, reference: str | None
    ) -> None:
        self.current.set(f"{operation}:{reference}")
        self._note(
            "payplane_operation_started",
            provider=provider,
            operation=operation,
            reference=reference,
        )

    @hookimpl
    def payplane_operation_finished(  # noqa: PLR0917 - hooks take arguments by name
        self,
        provider: str,
        operation: str,
        reference: str | None,
        outcome: str,
        status: payplane.NeutralStatus | None,
        result: object,
        error: BaseException | None,
        attempts: int,
        retries: int,
        elapsed: float,
    ) -> None:
        self._note(
            "payplane_operation_finished",
            provider=provider,
            operation=operation,
            reference=reference,
            outcome=outcome,
            status=status,
            result=result,
            error=error,
            attempts=attempts,
            retries=retries,
            elapsed=elapsed,
        )

    @hookimpl
    def payplane_request_sent(self, provider: str, request: HttpRequest, attempt: int) -> None:
        self._note("payplane_request_sent", provider=provider, request=request, attempt=attempt)

    @hookimpl
    def payplane_response_received(
        self, request: HttpRequest, response: HttpResponse, elapsed: float, attempt: int
    ) -> None:
        self._note(
            "payplane_response_received",
            request=request,
            response=response,
            elapsed=elapsed,
            attempt=attempt,
        )

    @hookimpl
    def payplane_request_failed(
        self, request: HttpRequest, error: BaseException, elapsed: float, attempt: int
    ) -> None:
        self._note(
            "payplane_request_failed",
            request=request,
            error=error,
            elapsed=elapsed,
            attempt=attempt,
        )

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]

    def finished(self) -> dict[str, Any]:
        (finished,) = self.of("payplane_operation_finished")
        return finished


@pytest.fixture
def recorder(registry: payplane.Registry) -> Recorder:
    recorder = Recorder()
    registry.register(recorder, name="recorder")
    return recorder


def call(
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Callable[[httpx.Request], httpx.Response],
    make: Callable[[Any], Any],
    mode: Mode,
    *,
    provider: str = "fakepsp",
) -> Any:
    """Run ``make(client)`` with a sync client, or await it with an async one."""
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with registry.client(provider, settings, transport=transport, retry=FAST) as client:
            return make(client)

    async def drive() -> Any:
        async with registry.async_client(
            provider, settings, transport=transport, retry=FAST
        ) as client:
            return await make(client)

    return asyncio.run(drive())


def check_pairs(recorder: Recorder) -> None:
    """Every opening hook is closed once, later, and pairs nest (a stack empties)."""
    stack: list[str] = []
    for name in recorder.names():
        if name in OPENING:
            stack.append(OPENING[name])
        else:
            assert stack, f"{name} closes nothing"
            assert stack.pop() == CLOSING[name], f"{name} closes the wrong pair"
    assert stack == []


def ok(payload: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(200, json=payload)


WITHDRAWAL = WithdrawalRequest(
    customer_id="user-1", amount=Money("25", "USD"), account_number="0123456789", reference="wd-9"
)


# -- the operation hooks -------------------------------------------------------------------


OPERATIONS: list[tuple[str, Callable[[Any], Any], dict[str, Any], str | None]] = [
    (
        "start_deposit",
        lambda c: c.start_deposit(
            DepositRequest(customer_id="user-1", currency="USD", reference="dep-1")
        ),
        {"account": "ACC-1"},
        "dep-1",
    ),
    (
        "activate_deposit",
        lambda c: c.activate_deposit(
            ActivationRequest(
                customer_id="user-1",
                amount=Money("5", "USD"),
                transaction_id="tx-1",
                reference="act-1",
            )
        ),
        {"status": "credited", "credited": "5"},
        "act-1",
    ),
    ("create_withdrawal", lambda c: c.create_withdrawal(WITHDRAWAL), {"status": "queued"}, "wd-9"),
    (
        "look_up",
        lambda c: c.look_up(LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference="p-1")),
        {"status": "paid", "currency": "USD", "reference": "wd-9"},
        None,
    ),
    (
        "create_refund",
        lambda c: c.create_refund(
            RefundRequest(
                deposit_provider_reference="p-2",
                deposit_amount=Money("5", "USD"),
                reference="rf-1",
            )
        ),
        {"status": "pending"},
        "rf-1",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("operation", "make", "answer", "reference"), OPERATIONS, ids=[op[0] for op in OPERATIONS]
)
def test_each_operation_opens_and_closes_once(
    registry: payplane.Registry,
    settings: dict[str, object],
    recorder: Recorder,
    *,
    mode: Mode,
    operation: str,
    make: Callable[[Any], Any],
    answer: dict[str, Any],
    reference: str | None,
) -> None:
    """Each neutral operation: started, one attempt, finished; provider, name, reference."""
    result = call(registry, settings, ok(answer), make, mode)
    assert recorder.names() == [
        "payplane_operation_started",
        "payplane_request_sent",
        "payplane_response_received",
        "payplane_operation_finished",
    ]
    (started,) = recorder.of("payplane_operation_started")
    assert started == {"provider": "fakepsp", "operation": operation, "reference": reference}
    finished = recorder.finished()
    assert (finished["operation"], finished["outcome"], finished["error"]) == (
        operation,
        "ok",
        None,
    )
    assert finished["result"] == result
    assert (finished["attempts"], finished["retries"]) == (1, 0)


@pytest.mark.parametrize("mode", MODES)
def test_finished_reports_the_neutral_status(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """``status`` is the result's neutral status (an activation's outcome too)."""
    make = OPERATIONS[1][1]
    call(registry, settings, ok({"status": "credited", "credited": "5"}), make, mode)
    assert recorder.finished()["status"] is ActivationOutcome.CREDITED


@pytest.mark.parametrize("mode", MODES)
def test_lookup_by_provider_id_finishes_with_the_reference_found(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """Started without a reference, finished with the one the result carries."""
    make = OPERATIONS[3][1]
    call(registry, settings, ok(OPERATIONS[3][2]), make, mode)
    (started,) = recorder.of("payplane_operation_started")
    assert started["reference"] is None
    finished = recorder.finished()
    assert (finished["reference"], finished["status"]) == ("wd-9", WithdrawalStatus.SUCCEEDED)


@pytest.mark.parametrize("mode", MODES)
def test_run_is_an_operation_named_after_the_flow(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """``run`` opens and closes like the neutral operations, named as given."""

    def make(client: Any) -> Any:
        flow = client.provider.finalise_withdrawal("wd-9", "123456", Money("25", "USD"))
        return client.run(flow)

    call(registry, settings, ok({"status": "queued"}), make, mode)
    (started,) = recorder.of("payplane_operation_started")
    assert (started["operation"], started["reference"]) == ("finalise_withdrawal", None)
    finished = recorder.finished()
    assert (finished["outcome"], finished["reference"]) == ("ok", "wd-9")
    assert finished["status"] is WithdrawalStatus.PENDING


@pytest.mark.parametrize("mode", MODES)
def test_retries_are_counted(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """A 503 then a 200: two attempts, numbered 1 and 2, one retry."""
    answers = iter([httpx.Response(503), httpx.Response(200, json={"status": "queued"})])
    call(
        registry,
        settings,
        lambda _r: next(answers),
        lambda c: c.create_withdrawal(WITHDRAWAL),
        mode,
    )
    assert [kw["attempt"] for kw in recorder.of("payplane_request_sent")] == [1, 2]
    statuses = [
        (kw["attempt"], kw["response"].status_code)
        for kw in recorder.of("payplane_response_received")
    ]
    assert statuses == [(1, 503), (2, 200)]
    finished = recorder.finished()
    assert (finished["outcome"], finished["attempts"], finished["retries"]) == ("ok", 2, 1)


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_never_made_is_reported_per_attempt(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """Each refused connection closes its attempt with a redacted, retry-safe error."""

    def refuse(request: httpx.Request) -> httpx.Response:
        msg = "connection refused"
        raise httpx.ConnectError(msg, request=request)

    with pytest.raises(TransportError):
        call(registry, settings, refuse, lambda c: c.create_withdrawal(WITHDRAWAL), mode)
    failures = recorder.of("payplane_request_failed")
    assert [kw["attempt"] for kw in failures] == [1, 2, 3]
    for failure in failures:
        error = failure["error"]
        assert type(error) is TransportError
        assert error.retry_safe
        assert isinstance(error.__cause__, RedactedCause)
        assert error.__cause__.original_type is httpx.ConnectError
        assert error.__context__ is None
    finished = recorder.finished()
    assert (finished["outcome"], finished["attempts"], finished["retries"]) == ("failed", 3, 2)


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_answer_to_a_payment_is_an_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """The activation's answer is lost: the attempt fails unknown, and so does the call."""

    def lose(request: httpx.Request) -> httpx.Response:
        msg = "timed out"
        raise httpx.ReadTimeout(msg, request=request)

    with pytest.raises(UnknownOutcomeError):
        call(registry, settings, lose, OPERATIONS[1][1], mode)
    (failure,) = recorder.of("payplane_request_failed")
    assert type(failure["error"]) is UnknownOutcomeError
    finished = recorder.finished()
    assert (finished["outcome"], finished["reference"]) == ("unknown", "act-1")
    assert type(finished["error"]) is UnknownOutcomeError


@pytest.mark.parametrize("mode", MODES)
def test_a_refusal_by_the_provider_is_declined(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """A 404 on a lookup: NotFoundError, outcome ``declined``, status ``None``."""
    make = OPERATIONS[3][1]
    with pytest.raises(NotFoundError):
        call(registry, settings, lambda _r: httpx.Response(404, json={}), make, mode)
    finished = recorder.finished()
    assert (finished["outcome"], finished["status"], finished["result"]) == ("declined", None, None)
    assert isinstance(finished["error"], NotFoundError)


@pytest.mark.parametrize("mode", MODES)
def test_a_refusal_before_sending_counts_no_attempt(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder, mode: Mode
) -> None:
    """A request payplane refuses: started, finished ``failed`` with 0 attempts, no exchange."""
    euros = WithdrawalRequest(
        customer_id="user-1", amount=Money("25", "EUR"), account_number="0123", reference="wd-2"
    )
    with pytest.raises(ValidationError):
        call(registry, settings, ok({}), lambda c: c.create_withdrawal(euros), mode)
    assert recorder.names() == ["payplane_operation_started", "payplane_operation_finished"]
    finished = recorder.finished()
    assert (finished["outcome"], finished["attempts"], finished["reference"]) == (
        "failed",
        0,
        "wd-2",
    )
    assert isinstance(finished["error"], ValidationError)


def test_a_closed_client_fails_without_an_attempt(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder
) -> None:
    """A call on a closed client: finished ``failed`` with ClientClosedError, 0 attempts."""
    client = registry.client("fakepsp", settings, transport=httpx.MockTransport(ok({})))
    client.close()
    with pytest.raises(ClientClosedError):
        client.create_withdrawal(WITHDRAWAL)
    finished = recorder.finished()
    assert (finished["outcome"], finished["attempts"]) == ("failed", 0)
    assert isinstance(finished["error"], ClientClosedError)


async def test_a_cancelled_call_is_aborted_and_its_attempt_closed(
    registry: payplane.Registry, settings: dict[str, object], recorder: Recorder
) -> None:
    """Cancelled mid-exchange: the attempt fails and the call finishes ``aborted``.

    Observers get a RedactedCause standing in for the CancelledError; the caller gets
    the CancelledError itself.
    """
    started = asyncio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover - never answers

    async with registry.async_client(
        "fakepsp", settings, transport=httpx.MockTransport(hang), retry=FAST
    ) as client:
        task = asyncio.ensure_future(client.create_withdrawal(WITHDRAWAL))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    check_pairs(recorder)
    (failure,) = recorder.of("payplane_request_failed")
    assert isinstance(failure["error"], RedactedCause)
    assert failure["error"].original_type is asyncio.CancelledError
    finished = recorder.finished()
    assert finished["outcome"] == "aborted"
    assert finished["error"].original_type is asyncio.CancelledError


# -- pairing, context and outcomes over every failure ---------------------------------------

FAILURES: list[type[httpx.TransportError] | int] = [
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.RemoteProtocolError,
    503,
    302,
    500,
]


def _failing(failure: type[httpx.TransportError] | int) -> Callable[..., httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, int):
            return httpx.Response(failure, headers={"location": "https://elsewhere.test/"})
        msg = f"{failure.__name__} (simulated)"
        raise failure(msg, request=request)

    return handler


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("failure", FAILURES, ids=str)
@pytest.mark.parametrize(
    ("operation", "make", "answer", "reference"), OPERATIONS, ids=[op[0] for op in OPERATIONS]
)
def test_pairs_nest_and_share_the_callers_context(
    registry: payplane.Registry,
    settings: dict[str, object],
    recorder: Recorder,
    *,
    mode: Mode,
    failure: type[httpx.TransportError] | int,
    operation: str,
    make: Callable[[Any], Any],
    answer: dict[str, Any],
    reference: str | None,
) -> None:
    """Whatever fails, in each operation: pairs close once and nest, every hook of a call
    sees the context its started hook set, and the outcome is one of the documented."""
    with pytest.raises(payplane.exceptions.PayplaneError):
        call(registry, settings, _failing(failure), make, mode)
    check_pairs(recorder)
    assert {seen for _name, seen in recorder.seen} == {f"{operation}:{reference}"}
    finished = recorder.finished()
    assert finished["outcome"] in OPERATION_OUTCOMES - {"ok", "aborted"}
    assert finished["attempts"] == len(recorder.of("payplane_request_sent"))


# -- observers cannot change a call ---------------------------------------------------------


class Broken:
    """Raises in every hook whose failures payplane contains."""

    @hookimpl
    def payplane_operation_started(self) -> None:
        raise RuntimeError("observer bug at the start")

    @hookimpl
    def payplane_operation_finished(self) -> None:
        raise RuntimeError("observer bug at the end")

    @hookimpl
    def payplane_request_failed(self) -> None:
        raise RuntimeError("observer bug on a failure")


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_observer_changes_no_result(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An observer that raises at the start and at the end: the payout's result stands."""
    registry.register(Broken(), name="broken")
    result = call(
        registry,
        settings,
        ok({"status": "queued"}),
        lambda c: c.create_withdrawal(WITHDRAWAL),
        mode,
    )
    assert result.status.status is WithdrawalStatus.PENDING
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert failed == [
        "a payplane_operation_started implementation failed; the call goes on",
        "a payplane_operation_finished implementation failed; the call goes on",
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_observer_keeps_the_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """An observer that raises on a lost answer: the caller still learns the outcome is unknown."""
    registry.register(Broken(), name="broken")

    def lose(request: httpx.Request) -> httpx.Response:
        msg = "timed out"
        raise httpx.ReadTimeout(msg, request=request)

    with pytest.raises(UnknownOutcomeError) as info:
        call(registry, settings, lose, OPERATIONS[1][1], mode)
    assert info.value.reference == "act-1"


# -- cheap when nobody observes, and never a secret -----------------------------------------


def test_no_watch_without_an_operation_observer(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """With no implementation of the operation hooks, a call builds no watch at all."""
    with registry.client("fakepsp", settings, transport=httpx.MockTransport(ok({}))) as client:
        assert client._watch("create_withdrawal", "wd-9") is None
        registry.register(Recorder(), name="late")  # observers may come after the client
        assert client._watch("create_withdrawal", "wd-9") is not None


class EchoingProvider(payplane_fakepsp.FakeProvider):
    """Puts the API key in the URL's query and has the provider echo it in its refusal."""

    def _request(
        self, operation: str, method: str, path: str, payload: object = None, **kw: Any
    ) -> HttpRequest:
        request = super()._request(operation, method, path, payload, **kw)
        separator = "&" if "?" in request.url else "?"
        return HttpRequest(
            operation=request.operation,
            method=request.method,
            url=f"{request.url}{separator}key={self.settings.api_key.reveal()}",
            headers=request.headers,
            content=request.content,
            moves_money=request.moves_money,
            replay_safe=request.replay_safe,
            reference=request.reference,
        )


@pytest.fixture
def echoing(registry: payplane.Registry) -> str:
    spec = payplane.ProviderSpec(
        id="echoing",
        display_name="Echoing",
        capabilities=payplane_fakepsp.payplane_providers()[0].capabilities,
        currencies={"USD"},
        api_version=payplane.PLUGIN_API_VERSION,
        settings=payplane_fakepsp.FakeSettings,
        factory=EchoingProvider,
    )

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [spec]

    registry.register(Plugin(), name="echoing")
    return "echoing"


def _texts(value: object) -> Iterator[str]:
    """Every text a payload shows (the suite's own walker: reprs, chains, attributes)."""
    from payplane_logcheck import texts_of  # noqa: PLC0415 - the suite's helper

    return texts_of(value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("echo", ["message", "lost"])
def test_no_payload_shows_a_secret(
    registry: payplane.Registry,
    settings: dict[str, object],
    recorder: Recorder,
    echoing: str,
    *,
    mode: Mode,
    echo: str,
) -> None:
    """The key in the URL, echoed in the refusal or in a transport error: no payload shows it."""

    def handler(request: httpx.Request) -> httpx.Response:
        if echo == "lost":
            msg = f"reset while sending {request.url}"
            raise httpx.ReadError(msg, request=request)
        return httpx.Response(200, json={"error": f"bad key {TEST_API_KEY}"})

    make = lambda client: client.create_withdrawal(WITHDRAWAL)  # noqa: E731
    with pytest.raises(payplane.exceptions.PayplaneError):
        call(registry, settings, handler, make, mode, provider=echoing)
    redactor = redactor_for({TEST_API_KEY})
    shown = [text for _name, kwargs in recorder.calls for text in _texts(kwargs)]
    assert shown
    assert not [text for text in shown if redactor.found_in(text)]
    assert recorder.finished()["outcome"] in {"declined", "unknown"}
