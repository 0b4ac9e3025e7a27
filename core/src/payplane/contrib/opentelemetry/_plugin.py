"""The hook implementations that turn payplane's observation hooks into spans and metrics.

Each pair of hooks (:mod:`payplane.hookspecs`) opens a span and closes it: the span is
made current between the two (``opentelemetry.context.attach``), so what happens in
between nests under it, our own child spans and any other instrumentation's alike (an
ORM's spans inside the handler's). The open spans are kept in a ``ContextVar`` per kind,
as a stack, because the hooks of a pair run in the same thread or task and pairs nest.

Nothing this module records comes from a secret, a query string or personal data: URLs
are reduced to scheme, host, port and path (and the path redacted against the process's
secrets once more), errors to their type, and the strings that are recorded
(references, event keys, provider ids) are passed through the same redaction.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from importlib.metadata import version
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from payplane._redaction import LIVE
from payplane.contrib.opentelemetry import INSTRUMENTATION_NAME, METRICS
from payplane.exceptions import RedactedCause
from payplane.hookspecs import hookimpl

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from payplane._http import HttpRequest, HttpResponse
    from payplane._models import OtherEvent, PostbackEvent
    from payplane._status import NeutralStatus
    from payplane.contrib.opentelemetry import Instrumentation

__all__ = ["OpenTelemetryPlugin"]

logger = logging.getLogger("payplane.contrib.opentelemetry")

# Suggested by OpenTelemetry's semantic conventions for HTTP durations, in seconds.
DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
OTHER: Final = "_OTHER"
"""What an attribute reads in place of a value the sender chose (an unknown provider)."""

_METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Outcomes of a delivery that are a failure on the receiving side (a 4xx refusal is the
# sender's, and "busy" a concurrent delivery of the same event: neither is an error).
_FAILED_DELIVERIES = frozenset({"failed", "unavailable", "error"})
# OpenTelemetry's keys: instrumentation is suppressed under the first two (the second is
# the plain name some instrumentations set); HTTP instrumentation (httpx's) under the
# third. Read from the API's module: they are private names there.
_SUPPRESS_KEYS = tuple(
    key
    for key in (
        getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None),
        "suppress_instrumentation",
    )
    if key is not None
)
_SUPPRESS_HTTP_KEY: str | None = getattr(otel_context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", None)


class _Open:
    """A span a hook opened, the context token that made it current, and the one outside.

    *span* is ``None`` when instrumentation was suppressed: the pair is still tracked,
    so that its closing hook closes nothing else.
    """

    __slots__ = ("attributes", "key", "outer", "span", "started", "token")

    def __init__(
        self,
        key: tuple[object, ...],
        span: Span | None,
        token: object,
        outer: _Open | None,
        attributes: dict[str, AttributeValue],
    ) -> None:
        self.key = key
        self.span = span
        self.token = token
        self.outer = outer
        self.attributes = attributes
        self.started = time.perf_counter()


def type_name(kind: type[BaseException]) -> str:
    """The canonical name of an exception class (``error.type``), without private modules.

    ``httpx.ConnectTimeout`` (httpx exports it from its top-level package),
    ``payplane.exceptions.UnknownOutcomeError``, ``ValueError`` (a builtin).
    """
    module = kind.__module__
    if module == "builtins":
        return kind.__qualname__
    top = module.partition(".")[0]
    package = sys.modules.get(top)
    if package is not None and "." not in kind.__qualname__:
        try:
            exported = vars(package).get(kind.__qualname__)
        except TypeError:  # pragma: no cover - a module without __dict__
            exported = None
        if exported is kind:
            return f"{top}.{kind.__qualname__}"
    return f"{module}.{kind.__qualname__}"


def error_type(error: BaseException) -> str:
    """``error.type`` of *error*: a stand-in names the exception it stands for."""
    if isinstance(error, RedactedCause):
        return type_name(error.original_type)
    return type_name(type(error))


def attempt_error_type(error: BaseException) -> str:
    """``error.type`` of a failed attempt: the transport's own error when there is one."""
    cause = error.__cause__
    if isinstance(cause, RedactedCause):
        return type_name(cause.original_type)
    return error_type(error)


def _clean(text: str) -> str:
    """*text* with every form of every live secret replaced (a second line of defence)."""
    redactor = LIVE.redactor()
    return redactor(text) if redactor and redactor.found_in(text) else text


def _suppressed() -> bool:
    return any(otel_context.get_value(key) for key in _SUPPRESS_KEYS)


def _server(url: str) -> dict[str, AttributeValue]:
    """Scheme, host, port and path of *url*: never its query, fragment or credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        host = parts.hostname
    except ValueError:  # an unparseable URL: record no part of it
        return {}
    attributes: dict[str, AttributeValue] = {"url.path": _clean(parts.path or "/")}
    if parts.scheme:
        attributes["url.scheme"] = parts.scheme
    if host:
        attributes["server.address"] = _clean(host)
    if port is not None:
        attributes["server.port"] = port
    return attributes


def _event_attributes(event: PostbackEvent | OtherEvent | None) -> dict[str, AttributeValue]:
    if event is None:
        return {}
    attributes: dict[str, AttributeValue] = {
        "payplane.event_key": _clean(event.event_key),
        "payplane.event.kind": event.kind.value,
    }
    status = getattr(event, "status", None)
    if status is not None:
        attributes["payplane.event.status"] = status.status.value
    reference = getattr(event, "reference", None)
    if isinstance(reference, str):
        attributes["payplane.reference"] = _clean(reference)
    return attributes


def _where(provider: str, account: str | None, reason: str | None) -> dict[str, AttributeValue]:
    """Provider and account labels; ``_OTHER`` for those the sender chose (unknown ones)."""
    if reason == "unknown_provider":
        provider = OTHER
        account = OTHER if account is not None else None
    elif reason == "unknown_account":
        account = OTHER
    attributes: dict[str, AttributeValue] = {"payplane.provider": provider}
    if account is not None:
        attributes["payplane.account"] = account
    return attributes


class OpenTelemetryPlugin:
    """The payplane plugin :func:`~payplane.contrib.opentelemetry.instrument` registers."""

    instrumentation: Instrumentation

    def __init__(
        self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
    ) -> None:
        release = version("payplane")
        self._tracer = trace.get_tracer(
            INSTRUMENTATION_NAME, release, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_NAME, release, meter_provider=meter_provider)
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        for name, (kind, unit, description) in METRICS.items():
            if kind == "counter":
                self._counters[name] = meter.create_counter(name, unit, description)
            else:
                self._histograms[name] = meter.create_histogram(
                    name, unit, description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS
                )
        # One stack of open spans per kind of pair, per thread or task.
        self._operations: ContextVar[_Open | None] = ContextVar("operation", default=None)
        self._attempts: ContextVar[_Open | None] = ContextVar("attempt", default=None)
        self._deliveries: ContextVar[_Open | None] = ContextVar("delivery", default=None)
        self._applies: ContextVar[_Open | None] = ContextVar("apply", default=None)

    # -- the machinery -----------------------------------------------------------------

    @contextlib.contextmanager
    def _contained(self, hook: str) -> Iterator[None]:
        """Log, never raise: an instrumentation bug must not break a payment."""
        try:
            yield
        except Exception:
            logger.warning(
                "payplane's OpenTelemetry instrumentation failed in %s", hook, exc_info=True
            )

    def _open(
        self,
        stack: ContextVar[_Open | None],
        key: tuple[object, ...],
        name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        *,
        http: bool = False,
    ) -> None:
        """Start a span, make it current, and push it on *stack*."""
        outer = stack.get()
        if _suppressed():
            stack.set(_Open(key, None, None, outer, attributes))
            return
        span = self._tracer.start_span(name, kind=kind, attributes=attributes)
        current: Context = trace.set_span_in_context(span)
        if http and _SUPPRESS_HTTP_KEY is not None:
            # payplane's attempt span describes this exchange without its query string;
            # an HTTP instrumentation (httpx's) would record the whole URL, a secret
            # included (Paykassma's ?secret=): it is told to stay out of it.
            current = otel_context.set_value(_SUPPRESS_HTTP_KEY, True, current)  # noqa: FBT003 - the key's value
        token = otel_context.attach(current)
        stack.set(_Open(key, span, token, outer, attributes))

    def _close(self, stack: ContextVar[_Open | None], key: tuple[object, ...]) -> _Open | None:
        """Pop the span *key* opened, make the outer context current again; ``None`` if none.

        A closing hook whose opening one did not reach this plugin (another observer
        raised before it) finds another key on top and closes nothing.
        """
        opened = stack.get()
        if opened is None or opened.key != key:
            return None
        stack.set(opened.outer)
        if opened.span is not None:
            otel_context.detach(opened.token)  # type: ignore[arg-type]
        return opened

    @staticmethod
    def _quiet(opened: _Open | None) -> bool:
        """Whether instrumentation is suppressed for a pair (then nothing is recorded)."""
        return opened.span is None if opened is not None else _suppressed()

    @staticmethod
    def _fail(span: Span, error: str, description: str) -> None:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR, description))

    def _count(self, name: str, attributes: Mapping[str, AttributeValue], amount: int = 1) -> None:
        self._counters[name].add(amount, attributes)

    def _time(self, name: str, seconds: float, attributes: Mapping[str, AttributeValue]) -> None:
        self._histograms[name].record(seconds, attributes)

    # -- client calls ------------------------------------------------------------------

    @hookimpl
    def payplane_operation_started(
        self, provider: str, operation: str, reference: str | None
    ) -> None:
        """Open the call's ``CLIENT`` span, named ``payplane.<operation>``."""
        with self._contained("payplane_operation_started"):
            attributes: dict[str, AttributeValue] = {
                "payplane.provider": provider,
                "payplane.operation": _clean(operation),
            }
            if reference is not None:
                attributes["payplane.reference"] = _clean(reference)
            self._open(
                self._operations,
                (provider, operation),
                f"payplane.{_clean(operation)}",
                SpanKind.CLIENT,
                attributes,
            )

    @hookimpl
    def payplane_operation_finished(  # noqa: PLR0917 - hooks take arguments by name
        self,
        provider: str,
        operation: str,
        reference: str | None,
        outcome: str,
        status: NeutralStatus | None,
        result: object,
        error: BaseException | None,
        attempts: int,
        retries: int,
        elapsed: float,
    ) -> None:
        """Close the call's span; count and time the call."""
        with self._contained("payplane_operation_finished"):
            opened = self._close(self._operations, (provider, operation))
            if self._quiet(opened):
                return
            labels: dict[str, AttributeValue] = {
                "payplane.provider": provider,
                "payplane.operation": _clean(operation),
                "payplane.outcome": outcome,
            }
            if error is not None:
                labels["error.type"] = error_type(error)
                self._count("payplane.client.errors", labels)
            if retries:
                self._count("payplane.client.retries", labels, retries)
            self._time("payplane.client.operation.duration", elapsed, labels)
            if opened is None or opened.span is None:
                return
            span = opened.span
            span.set_attribute("payplane.outcome", outcome)
            span.set_attribute("payplane.attempts", attempts)
            span.set_attribute("payplane.retries", retries)
            if reference is not None and "payplane.reference" not in opened.attributes:
                span.set_attribute("payplane.reference", _clean(reference))
            provider_reference = getattr(result, "provider_reference", None)
            if isinstance(provider_reference, str):
                span.set_attribute("payplane.provider_reference", _clean(provider_reference))
            if status is not None:
                span.set_attribute("payplane.status", status.value)
            if error is not None:
                kind = error_type(error)
                self._fail(span, kind, f"{outcome}: {kind}")
            span.end()

    # -- attempts ----------------------------------------------------------------------

    @hookimpl
    def payplane_request_sent(self, provider: str, request: HttpRequest, attempt: int) -> None:
        """Open the attempt's ``CLIENT`` span, named after the HTTP method."""
        with self._contained("payplane_request_sent"):
            method = request.method.upper()
            known = method if method in _METHODS else OTHER
            attributes: dict[str, AttributeValue] = {
                "http.request.method": known,
                **_server(request.url),
                "payplane.provider": provider,
                "payplane.operation": _clean(request.operation),
            }
            if attempt > 1:
                attributes["http.request.resend_count"] = attempt - 1
            self._open(
                self._attempts,
                (provider, attempt),
                known if known != OTHER else "HTTP",
                SpanKind.CLIENT,
                attributes,
                http=True,
            )

    def _attempt_ended(
        self,
        provider: str,
        attempt: int,
        elapsed: float,
        status_code: int | None,
        error: str | None,
    ) -> None:
        opened = self._close(self._attempts, (provider, attempt))
        if opened is None or opened.span is None:
            return
        labels = {
            name: value
            for name, value in opened.attributes.items()
            if name in {"http.request.method", "server.address", "server.port"}
        }
        labels["payplane.provider"] = provider
        if status_code is not None:
            labels["http.response.status_code"] = status_code
        if error is not None:
            labels["error.type"] = error
        self._time("http.client.request.duration", elapsed, labels)
        span = opened.span
        if status_code is not None:
            span.set_attribute("http.response.status_code", status_code)
        if error is not None:
            self._fail(span, error, error)
        span.end()

    @hookimpl
    def payplane_response_received(
        self, provider: str, response: HttpResponse, elapsed: float, attempt: int
    ) -> None:
        """Close the attempt's span with its status code (4xx and 5xx are errors)."""
        with self._contained("payplane_response_received"):
            status = response.status_code
            error = str(status) if status >= 400 else None  # noqa: PLR2004 - HTTP errors
            self._attempt_ended(provider, attempt, elapsed, status, error)

    @hookimpl
    def payplane_request_failed(
        self, provider: str, error: BaseException, elapsed: float, attempt: int
    ) -> None:
        """Close the attempt's span with the transport's error type."""
        with self._contained("payplane_request_failed"):
            self._attempt_ended(provider, attempt, elapsed, None, attempt_error_type(error))

    # -- the inbox ---------------------------------------------------------------------

    @hookimpl
    def payplane_postback_received(self, provider: str, account: str | None) -> None:
        """Open the delivery's span: ``SERVER`` when it starts a trace, else ``INTERNAL``.

        Under a web framework's own instrumentation, its ``SERVER`` span is already
        current and the delivery nests inside it.
        """
        with self._contained("payplane_postback_received"):
            parent = trace.get_current_span().get_span_context()
            kind = SpanKind.INTERNAL if parent.is_valid else SpanKind.SERVER
            self._open(self._deliveries, (provider, account), "payplane.postback.receive", kind, {})

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
        """Close the delivery's span; count the delivery and time its answer."""
        with self._contained("payplane_postback_answered"):
            opened = self._close(self._deliveries, (provider, account))
            if self._quiet(opened):
                return
            where = _where(provider, account, reason)
            labels: dict[str, AttributeValue] = {**where, "payplane.outcome": outcome}
            if reason is not None:
                labels["payplane.reason"] = reason
                if outcome == "rejected":
                    self._count("payplane.inbox.rejected", {**where, "payplane.reason": reason})
            self._time("payplane.inbox.receive.duration", elapsed, labels)
            labels["http.response.status_code"] = status_code
            self._count("payplane.inbox.received", labels)
            if opened is None or opened.span is None:
                return
            span = opened.span
            span.set_attributes({**labels, **_event_attributes(event)})
            if outcome in _FAILED_DELIVERIES:
                span.set_status(Status(StatusCode.ERROR, f"answered {status_code}: {outcome}"))
            span.end()

    @hookimpl
    def payplane_postback_applying(
        self,
        provider: str,
        account: str | None,
        event: PostbackEvent,
        replay: bool,  # noqa: FBT001 - hooks take arguments by name
    ) -> None:
        """Open the handler run's ``INTERNAL`` span."""
        with self._contained("payplane_postback_applying"):
            attributes = {
                **_where(provider, account, None),
                **_event_attributes(event),
                "payplane.replay": replay,
            }
            self._open(
                self._applies,
                (provider, account, event.event_key),
                "payplane.postback.apply",
                SpanKind.INTERNAL,
                attributes,
            )

    def _applied(
        self,
        provider: str,
        account: str | None,
        event: PostbackEvent,
        outcome: str,
        error: BaseException | None,
    ) -> None:
        opened = self._close(self._applies, (provider, account, event.event_key))
        if opened is None or opened.span is None:
            return
        elapsed = time.perf_counter() - opened.started
        labels: dict[str, AttributeValue] = {
            name: value
            for name, value in opened.attributes.items()
            if name in {"payplane.provider", "payplane.account", "payplane.event.kind"}
        }
        self._time(
            "payplane.inbox.handler.duration", elapsed, labels | {"payplane.outcome": outcome}
        )
        if error is None:
            replay = bool(opened.attributes.get("payplane.replay"))
            self._count("payplane.inbox.applied", labels | {"payplane.replay": replay})
        else:
            self._count("payplane.inbox.failed", labels | {"error.type": error_type(error)})
        span = opened.span
        span.set_attribute("payplane.outcome", outcome)
        if error is not None:
            kind = error_type(error)
            self._fail(span, kind, f"handler failed: {kind}")
        span.end()

    @hookimpl
    def payplane_postback_applied(
        self, provider: str, account: str | None, event: PostbackEvent
    ) -> None:
        """Close the handler run's span; count the event applied and time the run."""
        with self._contained("payplane_postback_applied"):
            self._applied(provider, account, event, "applied", None)

    @hookimpl
    def payplane_postback_failed(
        self, provider: str, account: str | None, event: PostbackEvent, error: BaseException
    ) -> None:
        """Close the handler run's span as an error; count the failure and time the run."""
        with self._contained("payplane_postback_failed"):
            self._applied(provider, account, event, "failed", error)

    @hookimpl
    def payplane_postback_dead(
        self, provider: str, account: str | None, event: PostbackEvent, attempts: int
    ) -> None:
        """Count a dead event; note it on the current span, if one records."""
        with self._contained("payplane_postback_dead"):
            if _suppressed():
                return
            labels = {**_where(provider, account, None), "payplane.event.kind": event.kind.value}
            self._count("payplane.inbox.dead", labels)
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event(
                    "payplane.postback.dead",
                    {
                        **labels,
                        "payplane.event_key": _clean(event.event_key),
                        "payplane.attempts": attempts,
                    },
                )
