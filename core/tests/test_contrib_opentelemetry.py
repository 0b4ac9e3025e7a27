"""payplane.contrib.opentelemetry: spans and metrics, checked with the SDK's in-memory exporters.

Client calls go through FakePSP over ``httpx.MockTransport``; the inbox's side is driven
through the registry's hook relay, calling the hooks in the order the inbox calls them.
"""

from __future__ import annotations

import asyncio
import string
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import payplane_fakepsp
import pytest
from hypothesis import HealthCheck, assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from payplane_inboxkit import Recorder, delivery
from payplane_otelkit import Telemetry, labels

import payplane
import payplane.contrib.opentelemetry as otel
from payplane import (
    ActivationRequest,
    DepositStatus,
    HttpRequest,
    LookupRequest,
    Money,
    PaymentKind,
    PostbackEvent,
    PostbackKind,
    WithdrawalRequest,
)
from payplane._redaction import redactor_for
from payplane.contrib.opentelemetry._plugin import type_name
from payplane.exceptions import (
    PayplaneError,
    RedactedCause,
    TransportError,
    UnknownOutcomeError,
)
from payplane.hookspecs import hookimpl
from payplane.testing import captured_log_records, log_record_texts

FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
WITHDRAWAL = WithdrawalRequest(
    customer_id="user-1", amount=Money("25", "USD"), account_number="0123456789", reference="wd-9"
)
ACTIVATION = ActivationRequest(
    customer_id="user-1", amount=Money("5", "USD"), transaction_id="tx-1", reference="act-1"
)
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def telemetry(registry: payplane.Registry) -> Iterator[Telemetry]:
    """FakePSP's registry, instrumented with in-memory tracer and meter providers."""
    telemetry = Telemetry()
    instrumentation = otel.instrument(
        registry,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    yield telemetry
    instrumentation.uninstrument()
    telemetry.shutdown()


def ok(payload: dict[str, Any]) -> Handler:
    return lambda _request: httpx.Response(200, json=payload)


def sync_call(
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Handler,
    make: Callable[[payplane.Client], Any],
    provider: str = "fakepsp",
) -> Any:
    transport = httpx.MockTransport(handler)
    with registry.client(provider, settings, transport=transport, retry=FAST) as client:
        return make(client)


# -- client calls ------------------------------------------------------------------------------


def test_a_call_is_a_client_span_with_its_outcome(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """One CLIENT span ``payplane.create_withdrawal``: provider, reference, outcome, status."""
    sync_call(
        registry,
        settings,
        ok({"status": "queued", "payout": "po_1"}),
        lambda c: c.create_withdrawal(WITHDRAWAL),
    )
    span = telemetry.span("payplane.create_withdrawal")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "payplane.provider": "fakepsp",
        "payplane.operation": "create_withdrawal",
        "payplane.reference": "wd-9",
        "payplane.provider_reference": "po_1",
        "payplane.outcome": "ok",
        "payplane.status": "pending",
        "payplane.attempts": 1,
        "payplane.retries": 0,
    }


def test_each_attempt_is_a_child_http_span(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """A 503 then a 200: two POST spans under the call, the second a resend."""
    answers = iter([httpx.Response(503), httpx.Response(200, json={"status": "queued"})])
    sync_call(
        registry, settings, lambda _r: next(answers), lambda c: c.create_withdrawal(WITHDRAWAL)
    )
    call = telemetry.span("payplane.create_withdrawal")
    first, second = telemetry.children(call)
    common = {
        "http.request.method": "POST",
        "server.address": "fakepsp.test",
        "server.port": 443,
        "url.scheme": "https",
        "url.path": "/withdrawals",
        "payplane.provider": "fakepsp",
        "payplane.operation": "create_withdrawal",
    }
    assert (first.name, first.kind, second.name, second.kind) == (
        "POST",
        SpanKind.CLIENT,
        "POST",
        SpanKind.CLIENT,
    )
    assert dict(first.attributes or {}) == {
        **common,
        "http.response.status_code": 503,
        "error.type": "503",
    }
    assert first.status.status_code is StatusCode.ERROR
    assert dict(second.attributes or {}) == {
        **common,
        "http.request.resend_count": 1,
        "http.response.status_code": 200,
    }
    assert second.status.status_code is StatusCode.UNSET
    assert (call.attributes or {})["payplane.attempts"] == 2
    assert (call.attributes or {})["payplane.retries"] == 1


def test_a_connection_never_made_is_an_attempt_error(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Refused connections: attempts carry the httpx error's type, the call payplane's."""

    def refuse(request: httpx.Request) -> httpx.Response:
        msg = "connection refused"
        raise httpx.ConnectError(msg, request=request)

    with pytest.raises(TransportError):
        sync_call(registry, settings, refuse, lambda c: c.create_withdrawal(WITHDRAWAL))
    call = telemetry.span("payplane.create_withdrawal")
    attempts = telemetry.children(call)
    assert [(a.attributes or {}).get("error.type") for a in attempts] == ["httpx.ConnectError"] * 3
    assert all("http.response.status_code" not in (a.attributes or {}) for a in attempts)
    assert (call.attributes or {})["error.type"] == "payplane.exceptions.TransportError"
    assert (call.attributes or {})["payplane.outcome"] == "failed"
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description == "failed: payplane.exceptions.TransportError"


def test_an_unknown_outcome_is_marked(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """An activation whose answer is lost: outcome ``unknown``, with the reference to look up."""

    def lose(request: httpx.Request) -> httpx.Response:
        msg = "timed out"
        raise httpx.ReadTimeout(msg, request=request)

    with pytest.raises(UnknownOutcomeError):
        sync_call(registry, settings, lose, lambda c: c.activate_deposit(ACTIVATION))
    call = telemetry.span("payplane.activate_deposit")
    attributes = call.attributes or {}
    assert (attributes["payplane.outcome"], attributes["payplane.reference"]) == (
        "unknown",
        "act-1",
    )
    assert attributes["error.type"] == "payplane.exceptions.UnknownOutcomeError"
    (attempt,) = telemetry.children(call)
    assert (attempt.attributes or {})["error.type"] == "httpx.ReadTimeout"
    assert telemetry.counts("payplane.client.errors") == {
        labels(
            payplane__provider="fakepsp",
            payplane__operation="activate_deposit",
            payplane__outcome="unknown",
            error__type="payplane.exceptions.UnknownOutcomeError",
        ): 1
    }


def test_a_lookup_by_provider_id_records_the_reference_found(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Started without a reference, the span gets the one the result carries; GET, no query."""
    answer = {"status": "paid", "currency": "USD", "reference": "dep-4", "id": "p-4"}
    lookup = LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="p-4")
    sync_call(registry, settings, ok(answer), lambda c: c.look_up(lookup))
    call = telemetry.span("payplane.look_up")
    assert (call.attributes or {})["payplane.reference"] == "dep-4"
    assert (call.attributes or {})["payplane.status"] == DepositStatus.SUCCEEDED.value
    (attempt,) = telemetry.children(call)
    assert attempt.name == "GET"
    assert (attempt.attributes or {})["url.path"] == "/lookup/deposit"


def test_a_flow_run_is_named_after_the_flow(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """``client.run(flow)``: a span named after the provider's own operation."""

    def finalise(client: payplane.Client) -> Any:
        provider = client.provider
        assert isinstance(provider, payplane_fakepsp.FakeProvider)
        return client.run(provider.finalise_withdrawal("wd-9", "123456", Money("25", "USD")))

    sync_call(registry, settings, ok({"status": "paid"}), finalise)
    call = telemetry.span("payplane.finalise_withdrawal")
    assert (call.attributes or {})["payplane.operation"] == "finalise_withdrawal"
    assert (call.attributes or {})["payplane.reference"] == "wd-9"


def test_client_metrics(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Latency per provider, operation and outcome; retries; each attempt's HTTP duration."""
    answers = iter([httpx.Response(503), httpx.Response(200, json={"status": "queued"})])
    sync_call(
        registry, settings, lambda _r: next(answers), lambda c: c.create_withdrawal(WITHDRAWAL)
    )
    call = labels(
        payplane__provider="fakepsp",
        payplane__operation="create_withdrawal",
        payplane__outcome="ok",
    )
    assert telemetry.counts("payplane.client.operation.duration") == {call: 1}
    assert telemetry.counts("payplane.client.retries") == {call: 1}
    assert telemetry.counts("payplane.client.errors") == {}
    server = {
        "http.request.method": "POST",
        "server.address": "fakepsp.test",
        "server.port": 443,
        "payplane.provider": "fakepsp",
    }
    assert telemetry.counts("http.client.request.duration") == {
        frozenset({**server, "http.response.status_code": 503, "error.type": "503"}.items()): 1,
        frozenset({**server, "http.response.status_code": 200}.items()): 1,
    }


def test_metric_names_units_and_kinds_are_as_documented(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Every metric recorded is in METRICS, with its unit."""
    sync_call(
        registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
    )
    recorded = {name: unit for name, unit, _points in telemetry.metrics()}
    assert recorded
    assert recorded == {name: otel.METRICS[name][1] for name in recorded}


async def test_concurrent_async_calls_keep_their_own_spans(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Two lookups awaited together: each call's attempt is its own child."""

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other call interleave
        reference = request.url.params["reference"]
        return httpx.Response(
            200, json={"status": "paid", "currency": "USD", "reference": reference}
        )

    async with registry.async_client(
        "fakepsp", settings, transport=httpx.MockTransport(answer)
    ) as client:
        await asyncio.gather(
            *(
                client.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference=reference))
                for reference in ("dep-a", "dep-b")
            )
        )
    calls = [span for span in telemetry.spans() if span.name == "payplane.look_up"]
    assert len(calls) == 2
    for call in calls:
        (attempt,) = telemetry.children(call)
        assert call.parent is None
        assert attempt.context is not None
        assert call.context is not None
        assert attempt.context.trace_id == call.context.trace_id


def test_calls_in_threads_keep_their_own_spans(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """One client shared by four threads: every call span has exactly its one attempt."""
    with registry.client(
        "fakepsp", settings, transport=httpx.MockTransport(ok({"status": "queued"}))
    ) as client:
        threads = [
            threading.Thread(target=client.create_withdrawal, args=(WITHDRAWAL,)) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    calls = [span for span in telemetry.spans() if span.name == "payplane.create_withdrawal"]
    assert len(calls) == 4
    assert [len(telemetry.children(call)) for call in calls] == [1, 1, 1, 1]


def test_calls_nest_under_the_applications_span(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """A call made inside the application's span is its child, in the same trace."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("checkout") as outer:
        sync_call(
            registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
        )
    call = telemetry.span("payplane.create_withdrawal")
    assert call.parent is not None
    assert call.parent.span_id == outer.get_span_context().span_id


def test_the_attempt_span_is_current_on_the_wire_with_http_instrumentation_suppressed(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """While the request is sent, the attempt span is current (propagators see it) and
    HTTP instrumentation (httpx's, which records the whole URL) is told to stay out."""
    seen: list[tuple[str, object]] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        span = trace.get_current_span()
        key = otel_context._SUPPRESS_HTTP_INSTRUMENTATION_KEY
        seen.append((getattr(span, "name", ""), otel_context.get_value(key)))
        return httpx.Response(200, json={"status": "queued"})

    sync_call(registry, settings, handler, lambda c: c.create_withdrawal(WITHDRAWAL))
    assert seen == [("POST", True)]
    assert otel_context.get_value(otel_context._SUPPRESS_HTTP_INSTRUMENTATION_KEY) is None


def test_suppressed_instrumentation_records_nothing(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """Under OpenTelemetry's suppress_instrumentation the call works and nothing is recorded."""
    key = otel_context._SUPPRESS_INSTRUMENTATION_KEY
    token = otel_context.attach(otel_context.set_value(key, True))
    try:
        result = sync_call(
            registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
        )
    finally:
        otel_context.detach(token)
    assert result.reference == "wd-9"
    assert telemetry.spans() == []
    assert telemetry.metrics() == []


# -- no secret, no query string, no personal data --------------------------------------------


class LeakyProvider(payplane_fakepsp.FakeProvider):
    """Puts the API key in the path and the query, and its refusals echo the key."""

    def _request(
        self, operation: str, method: str, path: str, payload: object = None, **kw: Any
    ) -> HttpRequest:
        request = super()._request(operation, method, path, payload, **kw)
        key = self.settings.api_key.reveal()
        base, _, query = request.url.partition("?")
        query = f"{query}&" if query else ""
        return HttpRequest(
            operation=request.operation,
            method=request.method,
            url=f"{base}/{quote(key, safe='')}?{query}secret={quote(key, safe='')}",
            headers=request.headers,
            content=request.content,
            moves_money=request.moves_money,
            replay_safe=request.replay_safe,
            reference=request.reference,
        )


@pytest.fixture
def leaky(registry: payplane.Registry) -> str:
    spec = payplane.ProviderSpec(
        id="leaky",
        display_name="Leaky",
        capabilities=payplane_fakepsp.SPEC.capabilities,
        currencies={"USD"},
        api_version=payplane.PLUGIN_API_VERSION,
        settings=payplane_fakepsp.FakeSettings,
        factory=LeakyProvider,
    )

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [spec]

    registry.register(Plugin(), name="leaky")
    return "leaky"


def _leaking_answers(secret: str) -> Handler:
    """A 503 (retried), then a transport error naming the URL, then a refusal echoing *secret*."""
    answers = iter(["503", "error", "echo"])

    def handler(request: httpx.Request) -> httpx.Response:
        match next(answers, "echo"):
            case "503":
                return httpx.Response(503, text=f"busy {secret}")
            case "error":
                msg = f"reset while sending {request.url}"
                raise httpx.ReadError(msg, request=request)
            case _:
                return httpx.Response(200, json={"error": f"bad key {secret}", "echo": secret})

    return handler


SECRETS = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:@%/",
    min_size=8,
    max_size=24,
).filter(lambda s: s.strip() == s)


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(secret=SECRETS)
@example(secret="status_c")  # part of an attribute name: discarded, not a failure
@example(secret="payplane")  # part of every logger name: discarded
@example(secret="k3y-Value-9!")
def test_no_exported_data_shows_a_secret(
    registry: payplane.Registry, leaky: str, telemetry: Telemetry, secret: str
) -> None:
    """Any key, in the URL's path and query, in a transport error and echoed in a refusal:
    no span name, attribute, event or status and no metric attribute shows any form of it
    (as is, percent-encoded, escaped, base64).

    The same call is first made with a key of another shape: a generated key found in
    what that run exported or logged is part of payplane's fixed vocabulary (``status_c``
    in the attribute name ``http.response.status_code``, ``payplane`` in every logger's
    name), not a leak, and the example is discarded (the suite-wide check reads log
    records too).
    """
    redactor = redactor_for({secret})
    with captured_log_records() as records:
        baseline = _exported_texts(registry, leaky, telemetry, "Baseline-Key-0123456789")
    baseline += [text for record in records for text in log_record_texts(record)]
    assume(not any(redactor.found_in(text) for text in baseline))
    texts = _exported_texts(registry, leaky, telemetry, secret)
    assert "payplane.look_up" in texts
    assert [text for text in texts if redactor.found_in(text)] == []


def _exported_texts(
    registry: payplane.Registry, leaky: str, telemetry: Telemetry, secret: str
) -> list[str]:
    """What a lookup with key *secret*, answered by :func:`_leaking_answers`, exports."""
    telemetry.exporter.clear()
    settings_: dict[str, object] = {
        "base_url": "https://fakepsp.test",
        "api_key": secret,
        "webhook_secret": "another-secret-value",
    }
    with pytest.raises(PayplaneError):
        sync_call(
            registry,
            settings_,
            _leaking_answers(secret),
            lambda c: c.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep-1")),
            provider=leaky,
        )
    return list(telemetry.texts())


def test_no_query_string_and_no_customer_data(
    registry: payplane.Registry, leaky: str, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """URLs become scheme, host, port and path; customer ids and accounts are never recorded."""
    sync_call(
        registry,
        settings,
        ok({"status": "queued"}),
        lambda c: c.create_withdrawal(WITHDRAWAL),
        provider=leaky,
    )
    names = {name for span in telemetry.spans() for name in (span.attributes or {})}
    assert not names & {"url.full", "url.query", "url.fragment", "http.url", "http.target"}
    texts = list(telemetry.texts())
    for personal in ("user-1", "0123456789"):
        assert not [text for text in texts if personal in text]
    (attempt,) = [span for span in telemetry.spans() if span.name == "POST"]
    assert (attempt.attributes or {})["url.path"] == "/withdrawals/***"


# -- switching it on and off ----------------------------------------------------------------


def test_instrument_is_idempotent_and_uninstrument_stops_recording(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A second instrument() returns the same handle; after uninstrument() nothing is recorded."""
    telemetry = Telemetry()
    first = otel.instrument(registry, tracer_provider=telemetry.tracer_provider)
    assert otel.instrument(registry) is first
    on = first.is_instrumented
    assert repr(first) == "<Instrumentation of payplane (on)>"
    sync_call(
        registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
    )
    first.uninstrument()
    first.uninstrument()
    assert (on, first.is_instrumented) == (True, False)
    sync_call(
        registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
    )
    assert [span.name for span in telemetry.spans()] == ["POST", "payplane.create_withdrawal"]
    again = otel.instrument(registry, tracer_provider=telemetry.tracer_provider)
    assert again is not first
    again.uninstrument()
    telemetry.shutdown()


def test_clients_made_before_are_instrumented(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A client made before instrument() is recorded from the next call on."""
    telemetry = Telemetry()
    with registry.client(
        "fakepsp", settings, transport=httpx.MockTransport(ok({"status": "queued"}))
    ) as client:
        client.create_withdrawal(WITHDRAWAL)
        instrumentation = otel.instrument(registry, tracer_provider=telemetry.tracer_provider)
        client.create_withdrawal(WITHDRAWAL)
    instrumentation.uninstrument()
    assert [span.name for span in telemetry.spans()] == ["POST", "payplane.create_withdrawal"]
    telemetry.shutdown()


def test_default_registry_is_instrumented_by_default() -> None:
    """instrument() without a registry instruments payplane.default_registry()."""
    instrumentation = otel.instrument()
    try:
        assert instrumentation.registry is payplane.default_registry()
        assert payplane.default_registry().plugin_manager.get_plugin(otel.PLUGIN_NAME) is not None
    finally:
        instrumentation.uninstrument()
    assert payplane.default_registry().plugin_manager.get_plugin(otel.PLUGIN_NAME) is None


class BrokenTracer:
    """A tracer provider whose tracer fails: the instrumentation must not break a call."""

    def get_tracer(self, *args: object, **kwargs: object) -> BrokenTracer:
        return self

    def start_span(self, *args: object, **kwargs: object) -> None:
        msg = "exporter misconfigured"
        raise RuntimeError(msg)


def test_an_instrumentation_failure_breaks_no_call(
    registry: payplane.Registry, settings: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """A tracer that raises: the payout goes through, a warning says what failed."""
    instrumentation = otel.instrument(registry, tracer_provider=BrokenTracer())  # type: ignore[arg-type]
    try:
        result = sync_call(
            registry, settings, ok({"status": "queued"}), lambda c: c.create_withdrawal(WITHDRAWAL)
        )
    finally:
        instrumentation.uninstrument()
    assert result.reference == "wd-9"
    warnings = {
        r.getMessage() for r in caplog.records if r.name == "payplane.contrib.opentelemetry"
    }
    assert warnings == {
        "payplane's OpenTelemetry instrumentation failed in payplane_operation_started",
        "payplane's OpenTelemetry instrumentation failed in payplane_request_sent",
    }


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (httpx.ConnectTimeout, "httpx.ConnectTimeout"),
        (UnknownOutcomeError, "payplane.exceptions.UnknownOutcomeError"),
        (ValueError, "ValueError"),
        (asyncio.CancelledError, "asyncio.CancelledError"),
        (RedactedCause, "payplane.exceptions.RedactedCause"),
    ],
)
def test_error_types_are_canonical_public_names(kind: type[BaseException], name: str) -> None:
    """``error.type`` names a class where its package exports it, never a private module."""
    assert type_name(kind) == name


WITHOUT_OTEL = """
import sys
sys.modules["opentelemetry"] = None  # as if not installed: importing it raises ImportError
import payplane, payplane.contrib.opentelemetry as otel
from payplane.exceptions import ConfigurationError
try:
    otel.instrument(payplane.Registry(autoload=False))
except ConfigurationError as exc:
    print(exc)
"""


def test_without_the_extra_instrument_names_it() -> None:
    """Without opentelemetry-api, instrument() raises ConfigurationError naming the extra."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WITHOUT_OTEL)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        'payplane.contrib.opentelemetry needs the otel extra: pip install "payplane[otel]"'
    )


def test_importing_payplane_imports_no_opentelemetry() -> None:
    """``import payplane`` and ``import payplane.contrib.opentelemetry`` leave OpenTelemetry out."""
    code = (
        "import sys, payplane, payplane.contrib.opentelemetry;"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the inbox, driven through the hook relay -------------------------------------------------

EVENT = PostbackEvent(
    provider="fakepsp",
    kind=PostbackKind.DEPOSIT,
    event_key="evt-1",
    status=payplane_fakepsp.DEPOSIT.map("paid"),
    amount=Money("5", "USD"),
    customer_id="user-1",
    reference="dep-1",
)


def deliver(
    registry: payplane.Registry,
    *,
    outcome: str,
    status_code: int,
    event: PostbackEvent | None = EVENT,
    reason: str | None = None,
    provider: str = "fakepsp",
    account: str | None = None,
    handler: Callable[[], BaseException | None] | None = None,
) -> None:
    """Call the inbox's hooks as the inbox does for one delivery (and its handler run)."""
    hook = registry.plugin_manager.hook
    hook.payplane_postback_received(provider=provider, account=account)
    if handler is not None and event is not None:
        hook.payplane_postback_applying(
            provider=provider, account=account, event=event, replay=False
        )
        error = handler()
        if error is None:
            hook.payplane_postback_applied(
                provider=provider, account=account, event=event, replay=False
            )
        else:
            hook.payplane_postback_failed(
                provider=provider, account=account, event=event, error=error, replay=False
            )
    hook.payplane_postback_answered(
        provider=provider,
        account=account,
        event=event,
        outcome=outcome,
        reason=reason,
        status_code=status_code,
        elapsed=0.25,
    )


def test_a_delivery_is_a_server_span_with_its_handler_run_inside(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """receive (SERVER, no parent) > apply (INTERNAL); what the handler traces nests inside."""
    tracer = telemetry.tracer_provider.get_tracer("app")

    def handler() -> None:
        with tracer.start_as_current_span("INSERT deposits"):
            pass

    deliver(registry, outcome="applied", status_code=204, handler=handler)
    receive = telemetry.span("payplane.postback.receive")
    (apply,) = telemetry.children(receive)
    (write,) = telemetry.children(apply)
    assert (receive.kind, receive.parent, receive.status.status_code) == (
        SpanKind.SERVER,
        None,
        StatusCode.UNSET,
    )
    assert dict(receive.attributes or {}) == {
        "payplane.provider": "fakepsp",
        "payplane.outcome": "applied",
        "http.response.status_code": 204,
        "payplane.event_key": "evt-1",
        "payplane.event.kind": "deposit",
        "payplane.event.status": "succeeded",
        "payplane.reference": "dep-1",
    }
    assert (apply.name, apply.kind) == ("payplane.postback.apply", SpanKind.INTERNAL)
    assert dict(apply.attributes or {}) == {
        "payplane.provider": "fakepsp",
        "payplane.event_key": "evt-1",
        "payplane.event.kind": "deposit",
        "payplane.event.status": "succeeded",
        "payplane.reference": "dep-1",
        "payplane.replay": False,
        "payplane.outcome": "applied",
    }
    assert write.name == "INSERT deposits"


def test_a_delivery_under_a_web_frameworks_span_is_internal(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """Inside the web framework's SERVER span, the delivery is an INTERNAL child of it."""
    tracer = telemetry.tracer_provider.get_tracer("web")
    with tracer.start_as_current_span("POST /postbacks/{provider}", kind=SpanKind.SERVER) as web:
        deliver(registry, outcome="repeat", status_code=204)
    receive = telemetry.span("payplane.postback.receive")
    assert receive.kind is SpanKind.INTERNAL
    assert receive.parent is not None
    assert receive.parent.span_id == web.get_span_context().span_id


def test_inbox_metrics(registry: payplane.Registry, telemetry: Telemetry) -> None:
    """Deliveries by outcome, rejections by reason, applied and failed events, durations."""
    deliver(registry, outcome="applied", status_code=204, handler=lambda: None)
    deliver(registry, outcome="repeat", status_code=204)
    deliver(registry, outcome="rejected", reason="signature", status_code=400, event=None)
    deliver(registry, outcome="rejected", reason="too_large", status_code=413, event=None)
    deliver(registry, outcome="failed", status_code=503, handler=lambda: RuntimeError("db"))
    fakepsp = {"payplane.provider": "fakepsp"}

    def key(**attributes: object) -> frozenset[tuple[str, object]]:
        return frozenset({**fakepsp, **attributes}.items())

    assert telemetry.counts("payplane.inbox.received") == {
        key(**{"payplane.outcome": "applied", "http.response.status_code": 204}): 1,
        key(**{"payplane.outcome": "repeat", "http.response.status_code": 204}): 1,
        key(
            **{
                "payplane.outcome": "rejected",
                "payplane.reason": "signature",
                "http.response.status_code": 400,
            }
        ): 1,
        key(
            **{
                "payplane.outcome": "rejected",
                "payplane.reason": "too_large",
                "http.response.status_code": 413,
            }
        ): 1,
        key(**{"payplane.outcome": "failed", "http.response.status_code": 503}): 1,
    }
    assert telemetry.counts("payplane.inbox.rejected") == {
        key(**{"payplane.reason": "signature"}): 1,
        key(**{"payplane.reason": "too_large"}): 1,
    }
    deposit = {"payplane.event.kind": "deposit"}
    assert telemetry.counts("payplane.inbox.applied") == {
        key(**deposit, **{"payplane.replay": False}): 1
    }
    assert telemetry.counts("payplane.inbox.failed") == {
        key(**deposit, **{"error.type": "RuntimeError"}): 1
    }
    assert telemetry.counts("payplane.inbox.handler.duration") == {
        key(**deposit, **{"payplane.outcome": "applied"}): 1,
        key(**deposit, **{"payplane.outcome": "failed"}): 1,
    }
    assert sum(telemetry.counts("payplane.inbox.receive.duration").values()) == 5


def test_a_failed_handler_marks_both_spans(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """The handler raised: the apply span is an error with its type; so is the delivery."""
    stand_in = RedactedCause("ValueError: bad row", original_type=ValueError)
    deliver(registry, outcome="failed", status_code=503, handler=lambda: stand_in)
    apply = telemetry.span("payplane.postback.apply")
    assert (apply.attributes or {})["error.type"] == "ValueError"
    assert (apply.status.status_code, apply.status.description) == (
        StatusCode.ERROR,
        "handler failed: ValueError",
    )
    receive = telemetry.span("payplane.postback.receive")
    assert (receive.status.status_code, receive.status.description) == (
        StatusCode.ERROR,
        "answered 503: failed",
    )
    assert "bad row" not in list(telemetry.texts())


def test_a_rejection_is_not_an_error_of_the_receiver(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """A 400 for a bad signature is the sender's fault: the span's status stays unset."""
    deliver(registry, outcome="rejected", reason="signature", status_code=400, event=None)
    receive = telemetry.span("payplane.postback.receive")
    assert receive.status.status_code is StatusCode.UNSET
    assert (receive.attributes or {})["payplane.reason"] == "signature"
    assert "payplane.event_key" not in (receive.attributes or {})


def test_an_unknown_provider_never_becomes_a_label(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """A delivery to a provider the inbox does not accept is counted under ``_OTHER``."""
    deliver(
        registry,
        outcome="rejected",
        reason="unknown_provider",
        status_code=404,
        provider="wp-admin.php",
        account="x" * 500,
        event=None,
    )
    deliver(
        registry,
        outcome="rejected",
        reason="unknown_account",
        status_code=404,
        account="guessed",
        event=None,
    )
    assert telemetry.counts("payplane.inbox.rejected") == {
        labels(
            payplane__provider="_OTHER",
            payplane__account="_OTHER",
            payplane__reason="unknown_provider",
        ): 1,
        labels(
            payplane__provider="fakepsp",
            payplane__account="_OTHER",
            payplane__reason="unknown_account",
        ): 1,
    }
    texts = list(telemetry.texts())
    assert "wp-admin.php" not in texts
    assert "guessed" not in texts


def test_accounts_label_deliveries_and_events(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """A delivery to an account: the account is on the spans and the metrics."""
    deliver(
        registry, outcome="applied", status_code=204, account="merchant-2", handler=lambda: None
    )
    assert (telemetry.span("payplane.postback.apply").attributes or {})[
        "payplane.account"
    ] == "merchant-2"
    ((attributes, _count),) = telemetry.counts("payplane.inbox.applied").items()
    assert ("payplane.account", "merchant-2") in attributes


def test_a_replay_is_counted_as_one(registry: payplane.Registry, telemetry: Telemetry) -> None:
    """An operator's replay (no delivery): an apply span of its own, counted ``replay=True``."""
    hook = registry.plugin_manager.hook
    hook.payplane_postback_applying(provider="fakepsp", account=None, event=EVENT, replay=True)
    hook.payplane_postback_applied(provider="fakepsp", account=None, event=EVENT, replay=True)
    apply = telemetry.span("payplane.postback.apply")
    assert (apply.parent, (apply.attributes or {})["payplane.replay"]) == (None, True)
    assert telemetry.counts("payplane.inbox.applied") == {
        labels(
            payplane__provider="fakepsp", payplane__event__kind="deposit", payplane__replay=True
        ): 1
    }


def test_a_dead_event_is_counted_and_noted(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """A deferred worker gives up: the dead counter, and an event on the worker's span."""
    tracer = telemetry.tracer_provider.get_tracer("worker")
    with tracer.start_as_current_span("work"):
        registry.plugin_manager.hook.payplane_postback_dead(
            provider="fakepsp", account=None, event=EVENT, error="RuntimeError: db down", attempts=8
        )
    assert telemetry.counts("payplane.inbox.dead") == {
        labels(payplane__provider="fakepsp", payplane__event__kind="deposit"): 1
    }
    (event,) = telemetry.span("work").events
    assert event.name == "payplane.postback.dead"
    assert dict(event.attributes or {}) == {
        "payplane.provider": "fakepsp",
        "payplane.event.kind": "deposit",
        "payplane.event_key": "evt-1",
        "payplane.attempts": 8,
    }


def test_a_closing_hook_without_its_opening_closes_nothing(
    registry: payplane.Registry, telemetry: Telemetry
) -> None:
    """An answered hook whose received hook never reached the plugin ends no other span."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("outer"):
        hook = registry.plugin_manager.hook
        hook.payplane_postback_applying(provider="fakepsp", account=None, event=EVENT, replay=False)
        hook.payplane_postback_answered(
            provider="fakepsp",
            account=None,
            event=EVENT,
            outcome="applied",
            reason=None,
            status_code=204,
            elapsed=0.1,
        )
        assert getattr(trace.get_current_span(), "name", None) == "payplane.postback.apply"
        hook.payplane_postback_applied(provider="fakepsp", account=None, event=EVENT, replay=False)
        assert getattr(trace.get_current_span(), "name", None) == "outer"
    assert [span.name for span in telemetry.spans()] == ["payplane.postback.apply", "outer"]
    assert sum(telemetry.counts("payplane.inbox.received").values()) == 1


@pytest.fixture(autouse=True)
def no_instrumentation_warnings(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Every test but the one about failures ends without an instrumentation warning."""
    yield
    if request.node.name != "test_an_instrumentation_failure_breaks_no_call":
        failures = [r for r in caplog.records if r.name == "payplane.contrib.opentelemetry"]
        assert failures == []


# -- the inbox itself, in deferred mode --------------------------------------------------------


def test_a_deferred_inbox_counts_dead_events_and_shows_no_secret(
    registry: payplane.Registry, settings: dict[str, object], telemetry: Telemetry
) -> None:
    """A real deferred inbox: deliveries recorded (one forged), a worker's runs that fail
    with the webhook secret in the error, one event dead, one applied. The dead metric
    counts the dead event under its account, the worker's span notes it, and no span
    attribute, event or metric attribute shows any form of the settings' secrets."""
    handler = Recorder()
    inbox = payplane.Inbox(
        payplane.MemoryStore(),
        handler,
        providers={"fakepsp": settings},
        accounts={"fakepsp": {"shop-a": settings}},
        registry=registry,
        mode="deferred",
        max_attempts=1,
    )
    inbox.receive("fakepsp", *delivery("d1"), account="shop-a")
    inbox.receive("fakepsp", *delivery("d2"))
    forged, _ = delivery("d3")
    inbox.receive("fakepsp", forged, {"x-signature": payplane_fakepsp.TEST_WEBHOOK_SECRET})
    handler.fail_next = 1
    with telemetry.tracer_provider.get_tracer("worker").start_as_current_span("work"):
        summary = inbox.work(until_idle=True)
    assert (summary.dead, summary.applied) == (1, 1)
    assert telemetry.counts("payplane.inbox.dead") == {
        labels(
            payplane__provider="fakepsp",
            payplane__account="shop-a",
            payplane__event__kind="deposit",
        ): 1
    }
    assert [event.name for event in telemetry.span("work").events] == ["payplane.postback.dead"]
    failed, applied = [s for s in telemetry.spans() if s.name == "payplane.postback.apply"]
    assert (failed.attributes or {})["payplane.account"] == "shop-a"
    assert (failed.attributes or {})["error.type"] == "RuntimeError"
    assert "payplane.account" not in (applied.attributes or {})
    received = [
        (dict(attributes)["payplane.outcome"], dict(attributes).get("payplane.account"), count)
        for attributes, count in telemetry.counts("payplane.inbox.received").items()
    ]
    assert sorted(received, key=str) == [
        ("recorded", "shop-a", 1),
        ("recorded", None, 1),
        ("rejected", None, 1),
    ]
    secrets = redactor_for({payplane_fakepsp.TEST_WEBHOOK_SECRET, payplane_fakepsp.TEST_API_KEY})
    assert [text for text in telemetry.texts() if secrets.found_in(text)] == []
