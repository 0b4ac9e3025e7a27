"""The flow driver: multi-step operations run by Client and AsyncClient alike.

A three-step payout flow (register a beneficiary: replay-safe, no money; pay: moves
money; confirm: a read) fails at each step in every way an exchange can fail, under
both clients. Before the money-moving step an error is what it is; at the money-moving
step a lost or unclassifiable answer is an unknown outcome; after it, everything is.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any, Literal

import httpx
import payplane_fakepsp
import pytest
from payplane_fakepsp import TEST_API_KEY

import payplane
from payplane import (
    Beneficiary,
    Flow,
    HttpRequest,
    HttpResponse,
    Money,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane._flow import FlowRun
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    PayplaneError,
    ProviderDeclinedError,
    RedactedCause,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane.hookspecs import hookimpl

FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
BASE = "https://fakepsp.test"
REF = "payout-77"
Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")

# Every concrete httpx transport error, and whether the client knows it never left.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
LOST: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.LocalProtocolError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
STATUSES = (429, 502, 503, 504)
Failure = type[httpx.TransportError] | int
FAILURES: tuple[Failure, ...] = (*NEVER_SENT, *LOST, *STATUSES)
STEPS = ("/register", "/pay", "/confirm")


def _leaves(cls: type) -> set[type]:
    subclasses: list[type] = cls.__subclasses__()
    if not subclasses:
        return {cls}
    return set().union(*(_leaves(sub) for sub in subclasses))


def test_failures_cover_every_httpx_transport_error() -> None:
    """The matrix below fails steps with every concrete httpx.TransportError there is."""
    assert _leaves(httpx.TransportError) == set(NEVER_SENT) | set(LOST)


# -- the flow and the PSP ----------------------------------------------------------------


def _read(response: HttpResponse, step: str) -> dict[str, Any]:
    if response.status_code != 200:
        msg = f"{step}: HTTP {response.status_code}"
        raise MalformedPayloadError(msg)
    data: dict[str, Any] = response.json()
    return data


def payout(*, pay_replay_safe: bool, log: list[str] | None = None) -> Flow[str]:
    """Register (replay-safe, no money), pay (moves money), confirm (a replay-safe read)."""
    try:
        _read((yield _step("POST", "/register", replay_safe=True)), "register")
        _read((yield _step("POST", "/pay", moves_money=True, replay_safe=pay_replay_safe)), "pay")
        return str(_read((yield _step("GET", "/confirm", replay_safe=True)), "confirm")["status"])
    except GeneratorExit:
        if log is not None:
            log.append("GeneratorExit")
        raise


def _step(
    method: str, path: str, *, moves_money: bool = False, replay_safe: bool = False
) -> HttpRequest:
    return HttpRequest(
        operation="payout",
        method=method,
        url=f"{BASE}{path}",
        reference=REF,
        moves_money=moves_money,
        replay_safe=replay_safe,
    )


class PSP:
    """Answers every step with 200, except *failing*, which fails with *failure*."""

    def __init__(self, failing: str | None = None, failure: Failure | None = None) -> None:
        self.failing = failing
        self.failure = failure
        self.calls: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] += 1
        if path == self.failing:
            if isinstance(self.failure, int):
                return httpx.Response(self.failure, text="<html>busy</html>")
            assert self.failure is not None
            msg = f"{self.failure.__name__} (simulated)"
            raise self.failure(msg, request=request)
        return httpx.Response(200, json={"status": "paid", "beneficiary": "ben_1"})


def run(
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Callable[[httpx.Request], Any],
    make: Callable[[payplane.Client | payplane.AsyncClient], Any],
    mode: Mode,
    *,
    provider: str = "fakepsp",
) -> Any:
    """Run ``make(client)`` (a flow to drive, or a coroutine of the async client's)."""
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


def run_flow(
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Callable[[httpx.Request], Any],
    flow: Flow[Any],
    mode: Mode,
) -> Any:
    """Drive *flow* with ``Client.run`` or ``AsyncClient.run``."""
    return run(registry, settings, handler, lambda client: client.run(flow), mode)


# -- a lost answer at every step -----------------------------------------------------


def _cases() -> Generator[Any, None, None]:
    for mode in MODES:
        for pay_replay_safe in (False, True):
            for step in STEPS:
                for failure in FAILURES:
                    name = failure if isinstance(failure, int) else failure.__name__
                    safe = "replay-safe" if pay_replay_safe else "not-replay-safe"
                    yield pytest.param(
                        mode,
                        pay_replay_safe,
                        step,
                        failure,
                        id=f"{mode}-pay-{safe}-{step[1:]}-{name}",
                    )


@pytest.mark.parametrize(("mode", "pay_replay_safe", "step", "failure"), list(_cases()))
def test_failure_at_each_step(
    registry: payplane.Registry,
    settings: dict[str, object],
    *,
    mode: Mode,
    pay_replay_safe: bool,
    step: str,
    failure: Failure,
) -> None:
    """Before the money-moving step an error is what it is; at or after it, unknown.

    - ``/register`` (replay-safe, before money): retried, then the retry-safe
      TransportError as it is.
    - ``/pay`` (moves money): a connection never made is retried and stays a retry-safe
      TransportError (nothing left); a lost or unclassifiable answer is an
      UnknownOutcomeError carrying the reference (retried first when replay-safe; those
      cases need the client fix named in CLIENT_FIX).
    - ``/confirm`` (after money moved): whatever fails is an UnknownOutcomeError with
      the money-moving step's reference, after the read's retries.
    The flow is closed, and no later step is sent.
    """
    log: list[str] = []
    psp = PSP(step, failure)
    flow = payout(pay_replay_safe=pay_replay_safe, log=log)
    with pytest.raises(TransportError) as info:
        run_flow(registry, settings, psp, flow, mode)
    error = info.value
    index = STEPS.index(step)
    replay_safe = step != "/pay" or pay_replay_safe
    never_sent = failure in NEVER_SENT
    retried = never_sent or replay_safe
    assert psp.calls[step] == (FAST.attempts if retried else 1)
    assert all(psp.calls[later] == 0 for later in STEPS[index + 1 :])
    assert all(psp.calls[earlier] == 1 for earlier in STEPS[:index])
    if step == "/register" or (step == "/pay" and never_sent):
        assert not isinstance(error, UnknownOutcomeError), error
        assert error.retry_safe
    else:
        assert isinstance(error, UnknownOutcomeError), error
        assert error.reference == REF
        assert not error.retry_safe
        assert error.provider == "fakepsp"
    assert inspect.getgeneratorstate(flow) == inspect.GEN_CLOSED
    assert log in ([], ["GeneratorExit"])


@pytest.mark.parametrize("mode", MODES)
def test_flow_without_failures_returns_its_result(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """Each step is sent once, in order, and the flow's return value is the result."""
    psp = PSP()
    flow = payout(pay_replay_safe=False)
    assert run_flow(registry, settings, psp, flow, mode) == "paid"
    assert list(psp.calls.items()) == [(path, 1) for path in STEPS]
    assert inspect.getgeneratorstate(flow) == inspect.GEN_CLOSED


@pytest.mark.parametrize("mode", MODES)
def test_lost_answer_at_a_step_that_is_not_replay_safe_is_not_retried(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A step without money that is not replay-safe is sent once; the error says no retry."""

    def flow() -> Flow[None]:
        yield _step("POST", "/register")
        yield _step("POST", "/pay", moves_money=True, replay_safe=True)

    psp = PSP("/register", httpx.ReadTimeout)
    with pytest.raises(TransportError) as info:
        run_flow(registry, settings, psp, flow(), mode)
    assert not isinstance(info.value, UnknownOutcomeError)
    assert not info.value.retry_safe
    assert psp.calls == Counter({"/register": 1})


# -- answers the flow cannot classify --------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_unclassifiable_answer_before_money_is_what_it_is(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """An answer the registration step cannot read is a MalformedPayloadError; nothing is paid."""
    psp = PSP("/register", 500)
    with pytest.raises(MalformedPayloadError) as info:
        run_flow(registry, settings, psp, payout(pay_replay_safe=True), mode)
    assert info.value.provider == "fakepsp"
    assert psp.calls["/pay"] == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pay_replay_safe", [False, True])
def test_unclassifiable_answer_at_the_money_step_is_unknown(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    pay_replay_safe: bool,
) -> None:
    """An HTML 500 to the payment cannot be a failure: an unknown outcome, cause chained."""
    psp = PSP("/pay", 500)
    with pytest.raises(UnknownOutcomeError) as info:
        run_flow(registry, settings, psp, payout(pay_replay_safe=pay_replay_safe), mode)
    assert info.value.reference == REF
    assert isinstance(info.value.__cause__, MalformedPayloadError)
    assert psp.calls["/confirm"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_refusal_after_money_moved_is_unknown(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A clear refusal at a later step still leaves the payment's outcome unknown."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay", moves_money=True)
        yield _step("GET", "/confirm", replay_safe=True)
        raise ProviderDeclinedError("confirmation refused")

    with pytest.raises(UnknownOutcomeError) as info:
        run_flow(registry, settings, PSP(), flow(), mode)
    assert info.value.reference == REF
    assert isinstance(info.value.__cause__, ProviderDeclinedError)


@pytest.mark.parametrize("mode", MODES)
def test_refusal_of_the_money_step_itself_is_what_it_is(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A classified refusal of the payment is a refusal: nothing moved."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay", moves_money=True)
        raise ProviderDeclinedError("account closed")

    with pytest.raises(ProviderDeclinedError) as info:
        run_flow(registry, settings, PSP(), flow(), mode)
    assert not isinstance(info.value, UnknownOutcomeError)
    assert info.value.provider_message == "account closed"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("moved", [False, True])
def test_provider_bug_on_an_answer(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    moved: bool,
) -> None:
    """A KeyError on the money step's answer is an unknown outcome; before it, a KeyError."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay" if moved else "/register", moves_money=moved)
        empty: dict[str, str] = {}
        _ = empty["missing"]

    if moved:
        with pytest.raises(UnknownOutcomeError) as info:
            run_flow(registry, settings, PSP(), flow(), mode)
        # Another library's exception in an error's chain stands redacted (the one
        # redaction mechanism): its type and text are kept.
        cause = info.value.__cause__
        assert isinstance(cause, RedactedCause)
        assert cause.original_type is KeyError
        assert info.value.reference == REF
    else:
        with pytest.raises(KeyError):
            run_flow(registry, settings, PSP(), flow(), mode)


# -- what a flow must be -------------------------------------------------------------


class NotARequest:
    """Something a careless flow might yield."""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "step",
    [None, {"url": BASE}, "GET /", b"raw", NotARequest(), httpx.Request("GET", BASE)],
    ids=["None", "dict", "str", "bytes", "object", "httpx.Request"],
)
def test_yielding_something_else_is_a_configuration_error(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode, step: object
) -> None:
    """A step that is not an HttpRequest: ConfigurationError naming provider, operation, type."""
    log: list[str] = []

    def handing_out() -> Flow[None]:
        try:
            yield step  # type: ignore[misc]
        except GeneratorExit:
            log.append("GeneratorExit")
            raise

    psp = PSP()
    with pytest.raises(ConfigurationError) as info:
        run(
            registry,
            settings,
            psp,
            lambda client: client.run(handing_out(), operation="odd_call"),
            mode,
        )
    assert info.value.provider == "fakepsp"
    assert info.value.operation == "odd_call"
    assert f"yielded {type(step).__name__}, not an HttpRequest" in info.value.message
    assert log == ["GeneratorExit"]
    assert not psp.calls


@pytest.mark.parametrize("mode", MODES)
def test_yielding_something_else_after_money_moved_is_unknown(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A bad step after the money-moving one: unknown outcome, the ConfigurationError as cause."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay", moves_money=True)
        yield {"next": "step"}  # type: ignore[misc]

    with pytest.raises(UnknownOutcomeError) as info:
        run_flow(registry, settings, PSP(), flow(), mode)
    assert info.value.reference == REF
    assert isinstance(info.value.__cause__, ConfigurationError)
    assert "yielded dict" in info.value.__cause__.message


class NoFlowProvider(payplane_fakepsp.FakeProvider):
    """A provider written as version 1 habits suggest: look_up returns a request."""

    def look_up(self, request: payplane.LookupRequest) -> Any:
        return HttpRequest(operation="look_up", method="GET", url=f"{BASE}/x")


class AsyncDefProvider(payplane_fakepsp.FakeProvider):
    """A provider whose flow is an ``async def`` by mistake."""

    async def look_up(self, request: payplane.LookupRequest) -> Any:  # type: ignore[override]
        return None


class NoneProvider(payplane_fakepsp.FakeProvider):
    """A provider whose method returns nothing."""

    def look_up(self, request: payplane.LookupRequest) -> Any:
        return None


def _register(registry: payplane.Registry, provider_id: str, factory: object) -> None:
    spec = payplane.ProviderSpec(
        id=provider_id,
        display_name=provider_id,
        capabilities=set(payplane.Capability),
        currencies={"USD"},
        api_version=payplane.PLUGIN_API_VERSION,
        settings=payplane_fakepsp.FakeSettings,
        factory=factory,  # type: ignore[arg-type]
    )

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [spec]

    registry.register(Plugin(), name=provider_id)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("factory", "returned"),
    [(NoFlowProvider, "HttpRequest"), (AsyncDefProvider, "coroutine"), (NoneProvider, "NoneType")],
)
def test_a_method_that_returns_no_flow_is_a_configuration_error(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    factory: type,
    returned: str,
) -> None:
    """A provider method returning a request, a coroutine or None: a ConfigurationError."""
    _register(registry, "noflow", factory)
    psp = PSP()
    request = payplane.LookupRequest(kind=payplane.PaymentKind.DEPOSIT, reference="d-1")
    with pytest.raises(ConfigurationError) as info:
        run(
            registry, settings, psp, lambda client: client.look_up(request), mode, provider="noflow"
        )
    assert not psp.calls
    assert info.value.provider == "noflow"
    assert info.value.operation == "look_up"
    assert f"returned {returned}, not a flow" in info.value.message


def test_run_refuses_what_is_not_a_flow(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Client.run given a request instead of a flow says so; it never sends anything."""
    psp = PSP()
    with pytest.raises(ConfigurationError, match="returned HttpRequest, not a flow"):
        run(
            registry,
            settings,
            psp,
            lambda client: client.run(_step("GET", "/x"), operation="mistake"),  # type: ignore[arg-type]
            "sync",
        )
    assert not psp.calls


# -- the generator is closed on every way out ---------------------------------------


def _recording(flow: Flow[Any], log: list[str]) -> Flow[Any]:
    try:
        return (yield from flow)
    except GeneratorExit:
        log.append("GeneratorExit")
        raise


@pytest.mark.parametrize("mode", MODES)
def test_flow_closed_when_the_transport_raises_its_own_error(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """An error that is not httpx's (a broken transport) still closes the flow."""

    def handler(_request: httpx.Request) -> httpx.Response:
        msg = "no recorded answer"
        raise LookupError(msg)

    log: list[str] = []
    flow = _recording(payout(pay_replay_safe=True), log)
    with pytest.raises(LookupError):
        run_flow(registry, settings, handler, flow, mode)
    assert log == ["GeneratorExit"]


def test_flow_closed_when_a_hook_raises(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """An observer hook that raises interrupts the run; the flow is closed."""

    class Broken:
        @hookimpl
        def payplane_request_sent(self) -> None:
            msg = "observer bug"
            raise RuntimeError(msg)

    registry.register(Broken(), name="broken")
    log: list[str] = []
    flow = _recording(payout(pay_replay_safe=True), log)
    with pytest.raises(RuntimeError, match="observer bug"):
        run_flow(registry, settings, PSP(), flow, "sync")
    assert log == ["GeneratorExit"]


async def test_flow_closed_when_the_task_is_cancelled(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Cancelling an async call while a step is in flight closes the flow."""
    started = asyncio.Event()

    async def handler(_request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError  # pragma: no cover

    log: list[str] = []
    flow = _recording(payout(pay_replay_safe=True), log)
    async with registry.async_client(
        "fakepsp", settings, transport=httpx.MockTransport(handler), retry=FAST
    ) as client:
        task = asyncio.ensure_future(client.run(flow))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert log == ["GeneratorExit"]


@pytest.mark.parametrize("mode", MODES)
def test_flow_that_raises_is_finished(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A flow that raises on an answer is finished: nothing is left suspended."""

    def flow() -> Flow[None]:
        yield _step("POST", "/register", replay_safe=True)
        raise ValidationError("amount", "over the beneficiary's limit", limit="<= 10")

    gen = flow()
    with pytest.raises(ValidationError):
        run_flow(registry, settings, PSP(), gen, mode)
    assert inspect.getgeneratorstate(gen) == inspect.GEN_CLOSED


# -- retries, hooks and redaction apply to every step -----------------------------------


class Observer:
    """Records what the hooks see."""

    def __init__(self) -> None:
        self.sent: list[HttpRequest] = []
        self.received: list[tuple[str, int]] = []

    @hookimpl
    def payplane_request_sent(self, provider: str, request: HttpRequest) -> None:
        assert provider == "fakepsp"
        self.sent.append(request)

    @hookimpl
    def payplane_response_received(self, request: HttpRequest, response: HttpResponse) -> None:
        self.received.append((request.url, response.status_code))


@pytest.mark.parametrize("mode", MODES)
def test_hooks_see_every_step_and_attempt_redacted(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """Each attempt of each step reaches the hooks, with the secret in its URL redacted."""
    observer = Observer()
    registry.register(observer, name="observer")

    def flow() -> Flow[None]:
        for path in STEPS:
            yield HttpRequest(
                operation="payout",
                method="GET",
                url=f"{BASE}{path}?key={TEST_API_KEY}",
                replay_safe=True,
                content=f'{{"key": "{TEST_API_KEY}"}}'.encode(),
            )

    answers = iter([503, 200, 200, 200])  # the first step is retried once

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["key"] == TEST_API_KEY  # the wire has the real key
        return httpx.Response(next(answers), json={})

    run_flow(registry, settings, handler, flow(), mode)
    assert [request.url for request in observer.sent] == [
        f"{BASE}{path}?key=***" for path in ("/register", *STEPS)
    ]
    assert all(TEST_API_KEY.encode() not in request.content for request in observer.sent)
    assert [status for _url, status in observer.received] == [503, 200, 200, 200]


@pytest.mark.parametrize("mode", MODES)
def test_errors_of_every_step_are_redacted(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A lost answer at a later step shows no secret, in the error or its cause."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay", moves_money=True)
        yield HttpRequest(
            operation="payout", method="GET", url=f"{BASE}/confirm?key={TEST_API_KEY}"
        )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/confirm":
            msg = f"timed out on {request.url}"
            raise httpx.ReadTimeout(msg, request=request)
        return httpx.Response(200, json={})

    with pytest.raises(UnknownOutcomeError) as info:
        run_flow(registry, settings, handler, flow(), mode)
    assert TEST_API_KEY not in str(info.value)
    assert TEST_API_KEY not in str(info.value.__cause__)


# -- provider-specific flows through Client.run ------------------------------------------


def _withdrawal(**changes: Any) -> WithdrawalRequest:
    values: dict[str, Any] = {
        "customer_id": "user-1",
        "amount": Money("25.50", "USD"),
        "reference": "wd-otp-1",
        "beneficiary": Beneficiary(holder_name="A. User", account_number="0123", bank_code="B1"),
    } | changes
    return WithdrawalRequest(**values)


@pytest.mark.parametrize("mode", MODES)
def test_beneficiary_payout_then_otp_through_run(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """FakePSP registers the beneficiary, pays it (otp_required), then run() sends the OTP."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json  # noqa: PLC0415

        body = json.loads(request.content)
        seen.append((request.url.path, body))
        if request.url.path == "/beneficiaries":
            return httpx.Response(200, json={"beneficiary": "ben_9"})
        if request.url.path == "/withdrawals":
            return httpx.Response(200, json={"status": "otp_required", "payout": "po_1"})
        return httpx.Response(200, json={"status": "paid", "payout": "po_1", "fee": "0.25"})

    request = _withdrawal()

    def calls(client: Any) -> Any:
        provider = client.provider
        if mode == "sync":
            first = client.create_withdrawal(request)
            return first, client.run(
                provider.finalise_withdrawal(request.reference, "123456", request.amount)
            )

        async def both() -> Any:
            first = await client.create_withdrawal(request)
            flow = provider.finalise_withdrawal(request.reference, "123456", request.amount)
            return first, await client.run(flow)

        return both()

    first, final = run(registry, settings, handler, calls, mode)
    assert [path for path, _body in seen] == [
        "/beneficiaries",
        "/withdrawals",
        "/withdrawals/wd-otp-1/otp",
    ]
    assert seen[1][1] == {"id": "wd-otp-1", "amount": "25.50", "beneficiary": "ben_9"}
    assert first.status.raw == "otp_required"
    assert first.status.status is WithdrawalStatus.PENDING
    assert final.status.status is WithdrawalStatus.SUCCEEDED
    assert final.fee == Money("0.25", "USD")
    assert final.provider_reference == "po_1"


def test_run_checks_the_provider_call_before_sending(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A bad OTP is a ValidationError from run(), stamped with provider and operation."""
    psp = PSP()
    with pytest.raises(ValidationError) as info:
        run(
            registry,
            settings,
            psp,
            lambda client: client.run(
                client.provider.finalise_withdrawal(  # type: ignore[attr-defined]
                    "wd-1", "12ab", Money(1, "USD")
                )
            ),
            "sync",
        )
    assert info.value.field == "otp"
    assert info.value.provider == "fakepsp"
    assert info.value.operation == "finalise_withdrawal"
    assert not psp.calls


@pytest.mark.parametrize("mode", MODES)
def test_lost_otp_answer_is_unknown_and_not_retried(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """The OTP releases the money: a lost answer is an unknown outcome, sent once."""
    psp = PSP("/withdrawals/wd-2/otp", httpx.ReadTimeout)
    with pytest.raises(UnknownOutcomeError) as info:
        run(
            registry,
            settings,
            psp,
            lambda client: client.run(
                client.provider.finalise_withdrawal(  # type: ignore[attr-defined]
                    "wd-2", "123456", Money(1, "USD")
                )
            ),
            mode,
        )
    assert info.value.reference == "wd-2"
    assert psp.calls["/withdrawals/wd-2/otp"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_lost_registration_answer_is_retried_and_pays_once(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """The beneficiary step is replay-safe: a lost answer is retried, then the payout goes."""
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        if request.url.path == "/beneficiaries":
            if calls["/beneficiaries"] == 1:
                raise httpx.ReadTimeout("lost", request=request)
            return httpx.Response(200, json={"beneficiary": "ben_9"})
        return httpx.Response(200, json={"status": "queued"})

    result = run(
        registry, settings, handler, lambda client: client.create_withdrawal(_withdrawal()), mode
    )
    assert result.status.status is WithdrawalStatus.PENDING
    assert calls == Counter({"/beneficiaries": 2, "/withdrawals": 1})


@pytest.mark.parametrize("mode", MODES)
def test_unreadable_registration_answer_pays_nothing(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """No beneficiary id in the registration answer: MalformedPayloadError, no payout sent."""
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        return httpx.Response(200, json={"ok": True})

    with pytest.raises(MalformedPayloadError) as info:
        run(
            registry,
            settings,
            handler,
            lambda client: client.create_withdrawal(_withdrawal()),
            mode,
        )
    assert not isinstance(info.value, UnknownOutcomeError)
    assert info.value.operation == "create_withdrawal"
    assert calls == Counter({"/beneficiaries": 1})


# -- FlowRun without a client ------------------------------------------------------------


def test_flow_run_is_sans_io() -> None:
    """FlowRun steps a flow with canned answers: no client, no transport."""

    def flow() -> Flow[int]:
        first = yield _step("POST", "/register", replay_safe=True)
        second = yield _step("POST", "/pay", moves_money=True)
        return first.status_code + second.status_code

    run_ = FlowRun(flow(), "fakepsp", "payout")
    run_.start()
    answers = iter([HttpResponse(status_code=201), HttpResponse(status_code=202)])
    paths = []
    while run_.request is not None:
        paths.append(run_.request.url.removeprefix(BASE))
        run_.advance(next(answers))
    assert paths == ["/register", "/pay"]
    assert run_.result == 403


def test_flow_run_without_requests_has_its_result_at_once() -> None:
    """A flow that needs no exchange returns at start()."""

    def flow() -> Flow[str]:
        yield from ()  # a generator that never yields
        return "local"

    run_ = FlowRun(flow(), "fakepsp", "start_deposit")
    run_.start()
    assert run_.request is None
    assert run_.result == "local"


def test_flow_run_failed_after_money_is_unknown() -> None:
    """failed() after a money-moving step was answered turns any error into unknown."""

    def flow() -> Flow[None]:
        yield _step("POST", "/pay", moves_money=True)
        yield _step("GET", "/confirm", replay_safe=True)

    run_ = FlowRun(flow(), "fakepsp", "payout")
    run_.start()
    run_.advance(HttpResponse(status_code=200))
    error = run_.failed(TransportError("connection never made", retry_safe=True))
    assert isinstance(error, UnknownOutcomeError)
    assert error.reference == REF
    assert isinstance(error.__cause__, PayplaneError)
