"""Sync and async clients: drive a provider's flows over httpx.

Everything but the I/O lives in ``_BaseClient`` (and the flow logic in
:class:`~payplane._flow.FlowRun`); ``Client`` and ``AsyncClient`` differ only in how they
send (httpx's own ``BaseClient`` split).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar, cast

import attrs
import httpx
import stamina

from payplane._flow import Flow, FlowRun
from payplane._http import HttpRequest, HttpResponse, PostbackAnswer, _headers, _Normalised
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    LookupRequest,
    LookupResult,
    OtherEvent,
    PostbackEvent,
    RefundRequest,
    RefundResult,
    WithdrawalRequest,
    WithdrawalResult,
)
from payplane._protocols import (
    ActivationProvider,
    Capability,
    DepositProvider,
    LookupProvider,
    PostbackProvider,
    RefundProvider,
    WithdrawalProvider,
)
from payplane._redaction import (
    Redactor,
    describe_exception,
    redact_exception,
    redact_headers,
    redactor_for,
)
from payplane._registry import require
from payplane._secrets import secret_values
from payplane._spec import ProviderSpec
from payplane._status import MappedStatus, NeutralStatus
from payplane.exceptions import (
    ClientClosedError,
    ConfigurationError,
    PayplaneError,
    ProviderDeclinedError,
    RedactedCause,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)

__all__ = ["DEFAULT_TIMEOUT", "AsyncClient", "Client", "RetryPolicy"]

logger = logging.getLogger("payplane.client")

# stamina logs each retry it schedules. Where the application configured no logging,
# Python's last-resort handler would print those records bare on stderr
# ("stamina.retry_scheduled"); a NullHandler on stamina's logger stops that, and where
# logging is configured the records still propagate to the application's handlers.
logging.getLogger("stamina").addHandler(logging.NullHandler())

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Timeouts of an owned httpx client: 5 s to connect, 30 s for each other phase."""

# Statuses after which a replay-safe request is sent again: the provider did not act.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# httpx errors raised before any byte of the request left: always safe to retry.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)

T = TypeVar("T")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{value!r} is not a whole number of attempts, 1 or more"
        raise ValidationError(attribute.name, msg, limit="integer >= 1")


def _finite_seconds(name: str, value: object) -> float:
    if not _is_number(value) or not math.isfinite(cast("float", value)):
        msg = f"{value!r} is not a finite number of seconds"
        raise ValidationError(name, msg, limit="seconds")
    return cast("float", value)


def _positive_seconds(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if _finite_seconds(attribute.name, value) <= 0:
        msg = f"{value!r} seconds is not above 0"
        raise ValidationError(attribute.name, msg, limit="seconds > 0")


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if _finite_seconds(attribute.name, value) < 0:
        msg = f"{value!r} seconds is below 0"
        raise ValidationError(attribute.name, msg, limit="seconds >= 0")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how often the client retries, with exponential backoff and jitter.

    A request is retried only when a retry cannot repeat an effect: the connection was
    never made, or the request is replay-safe (a read, or an idempotency key the
    provider honours). Retries are run by `stamina <https://stamina.hynek.me>`_.

    Attributes:
        attempts: Total attempts, the first included (1 disables retries).
        timeout: Give up retrying after this many seconds in all (more than 0).
        wait_initial: First backoff, in seconds (0 or more).
        wait_max: Longest backoff, in seconds (0 or more).
        wait_jitter: Random jitter added to each backoff, up to this many seconds.

    Raises:
        ValidationError: a field that is not a number in its range (names the field).
    """

    attempts: int = attrs.field(default=3, validator=_attempts)
    timeout: float = attrs.field(default=30.0, validator=_positive_seconds)
    wait_initial: float = attrs.field(default=0.1, validator=_seconds)
    wait_max: float = attrs.field(default=2.0, validator=_seconds)
    wait_jitter: float = attrs.field(default=0.5, validator=_seconds)


def _is_retryable(exc: Exception) -> bool:
    return isinstance(exc, TransportError) and exc.retry_safe


def _reached(exc: Exception) -> bool:
    """Whether the failed attempt behind *exc* may have reached the provider."""
    if not isinstance(exc, TransportError):
        return False
    cause = exc.__cause__
    kind = cause.original_type if isinstance(cause, RedactedCause) else type(cause)
    return not issubclass(kind, _NEVER_SENT)


def _outcome(error: BaseException) -> str:
    """The outcome of a call that raised *error* (``payplane.hookspecs.OPERATION_OUTCOMES``)."""
    if isinstance(error, UnknownOutcomeError):
        return "unknown"
    if isinstance(error, ProviderDeclinedError):
        return "declined"
    return "failed" if isinstance(error, PayplaneError) else "aborted"


def _status_of(result: object) -> NeutralStatus | None:
    """The neutral status a result carries (``status``, or an activation's ``outcome``)."""
    for name in ("status", "outcome"):
        value = getattr(result, name, None)
        if isinstance(value, MappedStatus):
            value = value.status
        if isinstance(value, NeutralStatus):
            return value
    return None


def _reference_of(value: object) -> str | None:
    reference = getattr(value, "reference", None)
    return reference if isinstance(reference, str) else None


class _Watch:
    """One observed client call: calls the operation hooks around it.

    Made only when an implementation observes them, so an unobserved call pays nothing.
    """

    __slots__ = ("client", "operation", "reference", "started")

    def __init__(self, client: _BaseClient, operation: str, reference: str | None) -> None:
        self.client = client
        self.operation = operation
        self.reference = reference
        client._notify(  # noqa: SLF001 - the client's helper
            "payplane_operation_started",
            provider=client.spec.id,
            operation=operation,
            reference=reference,
        )
        self.started = time.perf_counter()

    def succeeded(self, result: object, run: FlowRun[Any]) -> None:
        self._finished(run, outcome="ok", result=result, error=None)

    def failed(self, exc: BaseException, run: FlowRun[Any] | None) -> None:
        # The caller receives exc itself; a non-payplane error may show anything, so
        # observers get a redacted stand-in for it.
        error = exc if isinstance(exc, PayplaneError) else self.client._stand_in(exc)  # noqa: SLF001
        self._finished(run, outcome=_outcome(exc), result=None, error=error)

    def _finished(
        self,
        run: FlowRun[Any] | None,
        *,
        outcome: str,
        result: object,
        error: BaseException | None,
    ) -> None:
        elapsed = time.perf_counter() - self.started
        reference = self.reference
        if reference is None:
            reference = _reference_of(result if error is None else error)
        self.client._notify(  # noqa: SLF001 - the client's helper
            "payplane_operation_finished",
            provider=self.client.spec.id,
            operation=self.operation,
            reference=reference,
            outcome=outcome,
            status=_status_of(result),
            result=result,
            error=error,
            attempts=run.attempts if run is not None else 0,
            retries=run.retries if run is not None else 0,
            elapsed=elapsed,
        )


def _refuse(field: str, problem: str) -> NoReturn:
    msg = f"{field}: {problem}"
    raise ConfigurationError(msg, field=field)


def _check_options(
    *,
    retry: object,
    http_client: object,
    transport: object,
    timeout: object,
    http_type: type,
    transport_type: type,
) -> None:
    """Refuse client options of the wrong type at construction, naming the option."""
    if retry is not None and not isinstance(retry, RetryPolicy):
        _refuse("retry", f"must be a payplane.RetryPolicy, not {type(retry).__name__}")
    for field, value, expected in (
        ("http_client", http_client, http_type),
        ("transport", transport, transport_type),
    ):
        if value is not None and not isinstance(value, expected):
            name = f"{expected.__module__}.{expected.__name__}"
            _refuse(field, f"must be an {name}, not {type(value).__name__}")
    if http_client is not None and transport is not None:
        _refuse("transport", "pass http_client or transport, not both")
    if timeout is not None:
        _check_timeout(timeout, owned=http_client is None)


def _check_timeout(timeout: object, *, owned: bool) -> None:
    if not owned:
        _refuse(
            "timeout",
            "applies to the httpx client payplane creates; set it on the http_client you pass",
        )
    if isinstance(timeout, httpx.Timeout):
        return
    if not _is_number(timeout):
        _refuse("timeout", f"must be a number of seconds or an httpx.Timeout, not {timeout!r}")
    if not (math.isfinite(cast("float", timeout)) and cast("float", timeout) > 0):
        _refuse("timeout", f"{timeout!r} is not a finite number of seconds above 0")


class _BaseClient:
    """Everything but the I/O: capability checks, redaction, hooks, error mapping."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        spec: ProviderSpec,
        settings: object,
        provider: object,
        *,
        hooks: Any = None,  # noqa: ANN401 - a pluggy HookRelay
        retry: RetryPolicy | None = None,
    ) -> None:
        for capability in spec.capabilities:
            if not isinstance(provider, capability.protocol):
                msg = (
                    f"provider {spec.id!r} declares {capability.value} but its object does "
                    f"not implement {capability.protocol.__name__} (a plugin API 1 object "
                    "runs through payplane.client(), which adapts it)"
                )
                raise ConfigurationError(msg, provider=spec.id)
        self.spec = spec
        self.settings = settings
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self._hooks = hooks
        self._secrets = secret_values(settings)
        # Every view this client hands out is redacted with these forms, worked out once.
        self._redact: Redactor = redactor_for(self._secrets)
        self._urls: dict[str, httpx.URL] = {}
        self._owns_http = True
        self._closed = False

    @property
    def provider_id(self) -> str:
        """The provider's id."""
        return self.spec.id

    @property
    def is_closed(self) -> bool:
        """Whether the client, or the httpx client it runs on, is closed."""
        return self._closed or self._http.is_closed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.spec.id!r}>"

    # -- shared steps --------------------------------------------------------------

    def _require(self, capability: Capability) -> Any:  # noqa: ANN401
        return require(self.spec, self.provider, capability)

    def _redacted(self, request: HttpRequest) -> HttpRequest:
        """*request* as hooks see it: credential headers masked, secrets replaced."""
        redact = self._redact
        return attrs.evolve(
            request,
            url=redact(request.url),
            headers=redact_headers(request.headers, redact),
            content=redact.redact_bytes(request.content),
        )

    def _redacted_response(self, response: HttpResponse) -> HttpResponse:
        redact = self._redact
        return attrs.evolve(
            response,
            headers=redact_headers(response.headers, redact),
            content=redact.redact_bytes(response.content),
        )

    def _observed(self, name: str) -> bool:
        """Whether a hook implementation observes hook *name* (none: skip the work)."""
        hooks = self._hooks
        return hooks is not None and bool(getattr(hooks, name).get_hookimpls())

    def _watch(self, operation: str, reference: str | None) -> _Watch | None:
        """Start observing a call, or ``None`` when no implementation observes calls."""
        if self._observed("payplane_operation_started") or self._observed(
            "payplane_operation_finished"
        ):
            return _Watch(self, operation, reference)
        return None

    def _notify(self, name: str, **payload: object) -> None:
        """Call hook *name*; an implementation that raises is logged, never propagated.

        The observation hooks other than ``payplane_request_sent`` and
        ``payplane_response_received`` must not change a call's outcome: a payout made
        cannot turn into an error because an observer failed.
        """
        try:
            getattr(self._hooks, name)(**payload)
        except Exception:
            logger.exception("a %s implementation failed; the call goes on", name)

    def _stand_in(self, exc: BaseException) -> RedactedCause:
        """A redacted stand-in for *exc*, an exception payplane cannot rewrite."""
        stand_in = RedactedCause(self._redact(describe_exception(exc)), original_type=type(exc))
        return stand_in.with_traceback(exc.__traceback__)

    def _stamp(self, exc: PayplaneError, operation: str) -> PayplaneError:
        if exc.provider is None:
            exc.provider = self.spec.id
        if exc.operation is None:
            exc.operation = operation
        return exc

    def _leaving(self, exc: PayplaneError, operation: str) -> None:
        """The one redaction step of every error a client call raises.

        Stamps provider and operation, then rewrites every view of the error and its
        chain (message, args, attributes, causes) so that none shows a secret setting.
        """
        self._stamp(exc, operation)
        redact_exception(exc, self._redact)

    def _redacted_result(self, result: T, answer: bytes) -> T:
        """*result* with secrets replaced in every string, when the *answer* shows one.

        A provider that echoes a secret in its answer passes it into ``message`` and
        ``raw``; checking the answer's bytes first keeps the common case to a few
        substring searches.
        """
        if self._redact.found_in(answer):
            return self._redact.redact_value(result)
        return result

    def _closed_error(self, operation: str) -> ClientClosedError:
        if self._closed:
            msg = "the client is closed (close() was called or its with block ended)"
        elif self._owns_http:  # pragma: no cover - only payplane closes an owned client
            msg = "the client's httpx client is closed"
        else:
            msg = "the httpx client passed as http_client is closed"
        return ClientClosedError(msg, provider=self.spec.id, operation=operation)

    def _check_open(self, request: HttpRequest) -> None:
        if self._closed or self._http.is_closed:
            raise self._closed_error(request.operation)

    def _observe_request(self, request: HttpRequest, attempt: int) -> None:
        # Redacting a request costs about as much as the rest of payplane's work on an
        # exchange, so it is done only for a debug log or a hook implementation.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s %s", self.spec.id, request.method, self._redact(request.url))
        if self._observed("payplane_request_sent"):
            self._hooks.payplane_request_sent(
                provider=self.spec.id, request=self._redacted(request), attempt=attempt
            )

    def _observe_response(
        self, request: HttpRequest, response: HttpResponse, elapsed: float, attempt: int
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s answered %d in %.3f s",
                self.spec.id,
                request.operation,
                response.status_code,
                elapsed,
            )
        if self._observed("payplane_response_received"):
            self._hooks.payplane_response_received(
                provider=self.spec.id,
                request=self._redacted(request),
                response=self._redacted_response(response),
                elapsed=elapsed,
                attempt=attempt,
            )

    def _failed_attempt(
        self, request: HttpRequest, exc: BaseException, attempt: int, started: float
    ) -> BaseException:
        """The error an attempt that got no answer raises; observers are told.

        An httpx failure becomes payplane's (:meth:`_transport_error`), a send on an
        httpx client closed meanwhile a :class:`ClientClosedError`; either is redacted
        here, its httpx cause replaced, so that a hook can be shown it. Anything else (a
        cancellation, a transport's own bug) is returned as it is, to be re-raised.
        """
        error: PayplaneError | None = None
        if isinstance(exc, httpx.HTTPError):
            error = self._transport_error(request, exc)
        elif isinstance(exc, RuntimeError) and self._http.is_closed:
            error = self._closed_error(request.operation)
        if error is not None:
            error.__cause__ = exc
            redact_exception(error, self._redact)
        if self._observed("payplane_request_failed"):
            self._notify(
                "payplane_request_failed",
                provider=self.spec.id,
                request=self._redacted(request),
                error=error if error is not None else self._stand_in(exc),
                elapsed=time.perf_counter() - started,
                attempt=attempt,
            )
        return exc if error is None else error

    def _to_httpx(self, request: HttpRequest) -> httpx.Request:
        # Parsing a URL is a third of what building an httpx request costs, and a provider
        # sends few distinct ones: each client keeps them parsed (a bounded cache).
        urls = self._urls
        try:
            url = urls.get(request.url)
            if url is None:
                if len(urls) >= _URL_CACHE_SIZE:
                    urls.clear()
                url = urls[request.url] = httpx.URL(request.url)
            return self._http.build_request(
                request.method, url, headers=request.headers, content=request.content
            )
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            detail = self._redact(f"{type(exc).__name__}: {exc}")
            msg = f"the provider built a request httpx cannot send ({detail}); nothing was sent"
            raise ConfigurationError(
                msg, provider=self.spec.id, operation=request.operation
            ) from exc

    def _transport_error(self, request: HttpRequest, exc: httpx.HTTPError) -> TransportError:
        """Map an httpx failure onto payplane's, deciding whether a retry is safe."""
        detail = self._redact(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, _NEVER_SENT):
            return TransportError(
                f"connection never made ({detail})",
                retry_safe=True,
                provider=self.spec.id,
                operation=request.operation,
            )
        if request.replay_safe:
            return TransportError(
                f"answer lost ({detail})",
                retry_safe=True,
                provider=self.spec.id,
                operation=request.operation,
            )
        if request.moves_money:
            return UnknownOutcomeError(
                f"the request was sent and its answer lost ({detail})",
                reference=request.reference,
                provider=self.spec.id,
                operation=request.operation,
            )
        return TransportError(
            f"answer lost ({detail})",
            retry_safe=False,
            provider=self.spec.id,
            operation=request.operation,
        )

    def _check_status(self, request: HttpRequest, response: HttpResponse) -> None:
        """Refuse a redirect of a money-moving request; make transient statuses retryable."""
        status = response.status_code
        if request.moves_money and 300 <= status < 400:  # noqa: PLR2004 - HTTP redirects
            location = response.headers.get("location")
            where = f" to {location}" if location else ""
            msg = (
                f"the provider answered HTTP {status} (a redirect{where}); payplane never "
                "follows redirects of money-moving requests, and the provider may have "
                "acted before redirecting"
            )
            raise UnknownOutcomeError(
                msg,
                reference=request.reference,
                provider=self.spec.id,
                operation=request.operation,
            )
        if request.replay_safe and status in _RETRY_STATUSES:
            msg = f"HTTP {status}"
            raise TransportError(
                msg,
                retry_safe=True,
                provider=self.spec.id,
                operation=request.operation,
            )

    def _gave_up(
        self, request: HttpRequest, error: PayplaneError, *, reached: bool
    ) -> PayplaneError:
        """The error to raise when no attempt is left.

        A money-moving request whose attempts all failed, one of which may have reached
        the provider, has an unknown outcome, even when it is replay-safe: the caller
        must learn its reference, not "try again later" alone. Only when no attempt ever
        connected did nothing happen.
        """
        if (
            reached
            and request.moves_money
            and not isinstance(error, UnknownOutcomeError)
            and (isinstance(error, ClientClosedError) or _is_retryable(error))
        ):
            msg = (
                "no attempt got an answer and at least one may have reached the provider "
                f"(last: {error.message})"
            )
            unknown = UnknownOutcomeError(
                msg,
                reference=request.reference,
                provider=self.spec.id,
                operation=request.operation,
            )
            unknown.__cause__ = error
            return unknown
        return error

    def _check_amounts(self, capability: Capability, operation: str, request: object) -> None:
        """Refuse, before anything is built, what the provider declared it cannot take.

        The currency of every amount must be one the provider declares for *capability*;
        with ``minor_units`` declared, every amount must fit its currency's exponent.
        """
        spec = self.spec
        currencies = spec.currencies_for(capability)
        for field in _MONEY_FIELDS.get(type(request), ()):
            money = getattr(request, field)
            if money is None:
                continue
            code = money if type(money) is str else money.currency
            if code not in currencies:
                name = field if type(money) is str else f"{field}.currency"
                msg = f"{spec.id} does not take {code} for {capability.value}"
                limit = f"{', '.join(sorted(currencies))} for {capability.value}"
                raise ValidationError(name, msg, limit=limit, provider=spec.id, operation=operation)
            if spec.minor_units and type(money) is not str:
                try:
                    money.to_minor_units()
                except ValidationError as exc:
                    raise ValidationError(
                        field,
                        exc.message.partition(": ")[2],
                        limit=exc.limit,
                        provider=spec.id,
                        operation=operation,
                    ) from None

    def _start(self, operation: str, make: Callable[[], Flow[T]]) -> FlowRun[T]:
        """Create the provider's flow for *operation* and run it to its first request."""
        run = FlowRun(make(), self.spec.id, operation)
        run.start()
        return run

    # The runs of the neutral operations, up to their first request: the checks made
    # before anything is sent, shared by both clients.

    def _deposit_run(self, request: DepositRequest) -> FlowRun[DepositStart]:
        provider: DepositProvider = self._require(Capability.DEPOSITS)
        self._check_amounts(Capability.DEPOSITS, "start_deposit", request)
        return self._start("start_deposit", lambda: provider.start_deposit(request))

    def _activation_run(self, request: ActivationRequest) -> FlowRun[ActivationResult]:
        provider: ActivationProvider = self._require(Capability.ACTIVATION)
        self._check_amounts(Capability.ACTIVATION, "activate_deposit", request)
        return self._start("activate_deposit", lambda: provider.activate_deposit(request))

    def _withdrawal_run(self, request: WithdrawalRequest) -> FlowRun[WithdrawalResult]:
        provider: WithdrawalProvider = self._require(Capability.WITHDRAWALS)
        self._check_amounts(Capability.WITHDRAWALS, "create_withdrawal", request)
        return self._start("create_withdrawal", lambda: provider.create_withdrawal(request))

    def _lookup_run(self, request: LookupRequest) -> FlowRun[LookupResult]:
        provider: LookupProvider = self._require(Capability.LOOKUPS)
        return self._start("look_up", lambda: provider.look_up(request))

    def _refund_run(self, request: RefundRequest) -> FlowRun[RefundResult]:
        provider: RefundProvider = self._require(Capability.REFUNDS)
        self._check_amounts(Capability.REFUNDS, "create_refund", request)
        return self._start("create_refund", lambda: provider.create_refund(request))

    def _flow_run(self, flow: Flow[T], operation: str) -> FlowRun[T]:
        run = FlowRun(flow, self.spec.id, operation)
        run.start()
        return run

    def _result(self, run: FlowRun[T], shown: bool) -> T:  # noqa: FBT001 - internal
        """The flow's result; redacted when an answer of the run showed a secret."""
        result = cast("T", run.result)
        return self._redact.redact_value(result) if shown else result

    def _retrying(self, timeout: float) -> Any:  # noqa: ANN401 - stamina's retry context
        return stamina.retry_context(
            on=_is_retryable,
            attempts=self.retry.attempts,
            timeout=timeout,
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_jitter,
        )

    def _retry_after(self, exc: Exception, started: float) -> float:
        """Decide on a retry after the first attempt, run outside stamina, failed with *exc*.

        Most exchanges succeed at once, and entering stamina's retry context costs more
        than the rest of the client's work; so the first attempt runs bare, and only a
        failure enters the context, which replays that failure as its own first attempt
        (stamina then schedules, logs, waits and counts exactly as if it had run it).

        Returns the timeout left for the context, or re-raises *exc* when stamina would
        not retry it: not retryable, one attempt allowed, or the timeout already spent.
        """
        if self.retry.attempts <= 1 or not _is_retryable(exc):
            raise exc
        left = self.retry.timeout - (time.monotonic() - started)
        if left <= 0:
            raise exc
        return left

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """Return the HTTP answer to send the provider for a postback.

        ``accepted=True`` once the event is durably recorded (the provider stops
        re-sending); ``accepted=False`` to have it sent again later.

        Raises:
            UnsupportedCapabilityError: the provider does not declare postbacks.
        """
        try:
            provider: PostbackProvider = self._require(Capability.POSTBACKS)
            return provider.postback_answer(accepted=accepted)
        except PayplaneError as exc:
            self._leaving(exc, "postback_answer")
            raise

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackEvent | OtherEvent:
        """Verify a raw postback *body* and parse it into an event.

        A payment event is a :class:`~payplane.PostbackEvent`; a verified event about
        anything else is an :class:`~payplane.OtherEvent`. No I/O, so the sync and async
        clients share it (on :class:`AsyncClient` it is not awaited), and a closed client
        still verifies. Header names are lower-cased before the provider sees them (Flask and
        Django give ``X-Signature``, ASGI ``x-signature``); a name given in several
        cases keeps every value, joined with ``", "``.

        Raises:
            UnsupportedCapabilityError: the provider does not declare postbacks.
            ValidationError: *body* is not bytes, or *headers* not a mapping of ``str``.
            SignatureError: the signature or access key does not match.
            MalformedPayloadError: the body is not a postback (or too large).
        """
        try:
            provider: PostbackProvider = self._require(Capability.POSTBACKS)
            if not isinstance(cast("object", body), bytes):
                msg = f"must be the raw body as bytes, not {type(body).__name__}"
                raise ValidationError("body", msg, limit="bytes")
            event = provider.verify_postback(body, _headers(headers))
        except PayplaneError as exc:
            self._leaving(exc, "verify_postback")
            raise
        return self._redacted_result(event, body)


# The request fields holding money, per request type: a str field is a currency code.
_MONEY_FIELDS: dict[type, tuple[str, ...]] = {
    DepositRequest: ("currency", "amount"),
    ActivationRequest: ("amount",),
    WithdrawalRequest: ("amount",),
    RefundRequest: ("amount", "deposit_amount"),
}

_URL_CACHE_SIZE = 256


def _to_response(response: httpx.Response) -> HttpResponse:
    # httpx's Headers.items() already lower-cases names and joins repeated ones: the
    # converter takes them as they are.
    return HttpResponse(
        status_code=response.status_code,
        headers=_Normalised(response.headers.items()),
        content=response.content,
    )


class Client(_BaseClient):
    """Synchronous client of one provider.

    Create it with :func:`payplane.client`. Pass *http_client* to share your own
    ``httpx.Client`` (payplane will not close it), or *transport* to run over an
    ``httpx`` transport (``httpx.MockTransport`` in tests); otherwise the client owns
    an ``httpx.Client`` (5 s to connect, 30 s for each other phase, or *timeout*) and
    closes it in :meth:`close` or at the end of a ``with`` block.

    Money-moving requests are sent with ``follow_redirects=False`` whatever the httpx
    client's setting: a redirect answer is an unknown outcome, never a second POST.

    After :meth:`close` (or when the httpx client passed in is closed), a call that
    needs an exchange raises :class:`~payplane.exceptions.ClientClosedError`.

    Raises:
        ConfigurationError: an option of the wrong type or value, naming it:
            *http_client* not an ``httpx.Client``, *transport* not an
            ``httpx.BaseTransport``, both given, *retry* not a :class:`RetryPolicy`,
            *timeout* not a positive number of seconds or an ``httpx.Timeout``, or given
            with *http_client* (set it on that client).
        ClientClosedError: the *http_client* passed in is closed.
    """

    _http: httpx.Client

    def __init__(
        self,
        spec: ProviderSpec,
        settings: object,
        provider: object,
        *,
        hooks: Any = None,  # noqa: ANN401
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> None:
        _check_options(
            retry=retry,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            http_type=httpx.Client,
            transport_type=httpx.BaseTransport,
        )
        super().__init__(spec, settings, provider, hooks=hooks, retry=retry)
        if http_client is not None and http_client.is_closed:
            msg = "the httpx client passed as http_client is closed"
            raise ClientClosedError(msg, provider=spec.id)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=timeout if timeout is not None else DEFAULT_TIMEOUT
        )

    def close(self) -> None:
        """Close the client; an owned httpx client is closed too (one passed in stays open)."""
        self._closed = True
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _operate(
        self, operation: str, reference: str | None, prepare: Callable[[], FlowRun[T]]
    ) -> T:
        """Run one call: *prepare* its flow, drive it, redact its error, tell observers."""
        watch = self._watch(operation, reference)
        if watch is None:
            try:
                return self._drive(prepare())
            except PayplaneError as exc:
                self._leaving(exc, operation)
                raise
        run: FlowRun[T] | None = None
        try:
            run = prepare()
            result = self._drive(run)
        except BaseException as exc:
            if isinstance(exc, PayplaneError):
                self._leaving(exc, operation)
            watch.failed(exc, run)
            raise
        watch.succeeded(result, run)
        return result

    def _send(self, run: FlowRun[Any], request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        try:
            return self._attempt(run, request, 1)
        except (TransportError, ClientClosedError) as exc:
            first = exc
        return self._send_again(run, request, first, started)

    def _send_again(
        self,
        run: FlowRun[Any],
        request: HttpRequest,
        first: TransportError | ClientClosedError,
        started: float,
    ) -> HttpResponse:
        reached = _reached(first)
        try:
            timeout = self._retry_after(first, started)
            pending: PayplaneError | None = first
            for attempt in self._retrying(timeout):
                with attempt:
                    if pending is not None:
                        error, pending = pending, None
                        raise error
                    try:
                        return self._attempt(run, request, attempt.num)
                    except (TransportError, ClientClosedError) as exc:
                        reached = reached or _reached(exc)
                        raise
            raise AssertionError  # pragma: no cover - stamina re-raises the last error
        except (TransportError, ClientClosedError) as exc:
            last: PayplaneError = exc
        raise self._gave_up(request, last, reached=reached)

    def _attempt(self, run: FlowRun[Any], request: HttpRequest, attempt: int) -> HttpResponse:
        self._check_open(request)
        built = self._to_httpx(request)
        run.attempts += 1
        if attempt > 1:
            run.retries += 1
        self._observe_request(request, attempt)
        started = time.perf_counter()
        try:
            if request.moves_money:
                raw = self._http.send(built, follow_redirects=False)
            else:
                raw = self._http.send(built)
        except BaseException as exc:
            error = self._failed_attempt(request, exc, attempt, started)
            if error is exc:
                raise
        else:
            response = _to_response(raw)
            self._observe_response(request, response, time.perf_counter() - started, attempt)
            self._check_status(request, response)
            return response
        raise error  # outside the except block: no implicit link to the httpx error

    def _drive(self, run: FlowRun[T]) -> T:
        """Send each request of *run* until the flow returns its result."""
        shown = False
        while (request := run.request) is not None:
            try:
                response = self._send(run, request)
            except PayplaneError as exc:
                error = run.failed(exc)
                if error is exc:
                    raise
                raise error from exc
            except BaseException:
                run.close()  # a cancellation, a hook's or transport's own error
                raise
            shown = shown or self._redact.found_in(response.content)
            run.advance(response)
        return self._result(run, shown)

    def run(self, flow: Flow[T], *, operation: str | None = None) -> T:
        """Drive a provider-specific *flow* with this client's retries, redaction and hooks.

        For calls a provider offers beyond the neutral ones (an OTP to finalise a
        payout, say): ``client.run(client.provider.finalise_payout(reference, otp))``.
        The unknown-outcome rule applies as to every operation.

        Args:
            flow: A generator that yields :class:`~payplane.HttpRequest` and returns the
                result (a :data:`~payplane.Flow`).
            operation: Its name in errors and logs (default: the generator's name).

        Raises:
            ConfigurationError: *flow* is not a flow, or yields something else than an
                :class:`~payplane.HttpRequest`.
            UnknownOutcomeError, TransportError, PayplaneError: as for any operation.
        """
        name = operation or str(getattr(flow, "__name__", "run"))
        return self._operate(name, None, lambda: self._flow_run(flow, name))

    def start_deposit(self, request: DepositRequest) -> DepositStart:
        """Start a deposit: payment details and/or a hosted page URL.

        Raises:
            UnsupportedCapabilityError: the provider does not take deposits.
            ValidationError: the request breaks a provider limit (nothing was sent).
            ProviderDeclinedError: the provider refused.
            TransportError: the exchange failed.
            ClientClosedError: the client is closed (and an exchange was needed).
        """
        return self._operate("start_deposit", request.reference, lambda: self._deposit_run(request))

    def activate_deposit(self, request: ActivationRequest) -> ActivationResult:
        """Activate a deposit from the user's wallet transaction id.

        Raises:
            UnknownOutcomeError: sent, and the answer was lost, redirected or cannot be
                classified.
            ValidationError, ProviderDeclinedError, TransportError: as their names say.
            ClientClosedError: the client is closed.
        """
        return self._operate(
            "activate_deposit", request.reference, lambda: self._activation_run(request)
        )

    def create_withdrawal(self, request: WithdrawalRequest) -> WithdrawalResult:
        """Create a withdrawal (payout). ``request.reference`` is its idempotency key.

        Raises:
            UnknownOutcomeError: sent, and the answer was lost, redirected or cannot be
                classified, or every attempt of a replay-safe payout failed after one
                may have reached the provider: the payout may exist. Look it up
                (:meth:`look_up`) or retry only with the same ``request``.
            InsufficientFundsError: the merchant balance is too low.
            SignatureError: the provider rejected payplane's signature (check the key).
            ValidationError, ProviderDeclinedError, IntegrityError: as their names say.
            TransportError: the exchange failed and nothing reached the provider.
            ClientClosedError: the client is closed.
        """
        return self._operate(
            "create_withdrawal", request.reference, lambda: self._withdrawal_run(request)
        )

    def look_up(self, request: LookupRequest) -> LookupResult:
        """Fetch where a deposit, withdrawal or refund stands now.

        The way to resolve an :class:`~payplane.exceptions.UnknownOutcomeError`: look
        the error's ``reference`` up, then decide.

        Raises:
            UnsupportedCapabilityError: the provider offers no lookups.
            NotFoundError: the provider knows no such payment.
            ValidationError: the provider cannot look that up by what was given.
            TransportError: the exchange failed (lookups are retried: they are reads).
            ClientClosedError: the client is closed.
        """
        return self._operate("look_up", request.reference, lambda: self._lookup_run(request))

    def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a deposit. ``request.reference`` is its idempotency key.

        Raises:
            UnsupportedCapabilityError: the provider offers no refunds.
            ValidationError: more than the deposit (or what is left of it), another
                currency, a provider limit: nothing was sent.
            NotFoundError: the provider knows no such deposit.
            UnknownOutcomeError: the refund request was sent and its answer lost or
                unclassifiable: look the refund up before anything else.
            ProviderDeclinedError, TransportError: as their names say.
            ClientClosedError: the client is closed.
        """
        return self._operate("create_refund", request.reference, lambda: self._refund_run(request))


class AsyncClient(_BaseClient):
    """Asynchronous client of one provider; the async twin of :class:`Client`.

    Create it with :func:`payplane.async_client` and close it with :meth:`aclose` or
    ``async with``. Options, redirects and closing behave as :class:`Client`'s
    (*http_client* an ``httpx.AsyncClient``, *transport* an
    ``httpx.AsyncBaseTransport``).
    """

    _http: httpx.AsyncClient

    def __init__(
        self,
        spec: ProviderSpec,
        settings: object,
        provider: object,
        *,
        hooks: Any = None,  # noqa: ANN401
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> None:
        _check_options(
            retry=retry,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            http_type=httpx.AsyncClient,
            transport_type=httpx.AsyncBaseTransport,
        )
        super().__init__(spec, settings, provider, hooks=hooks, retry=retry)
        if http_client is not None and http_client.is_closed:
            msg = "the httpx client passed as http_client is closed"
            raise ClientClosedError(msg, provider=spec.id)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=timeout if timeout is not None else DEFAULT_TIMEOUT
        )

    async def aclose(self) -> None:
        """Close the client; an owned httpx client is closed too (one passed in stays open)."""
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _operate(
        self, operation: str, reference: str | None, prepare: Callable[[], FlowRun[T]]
    ) -> T:
        """Async :meth:`Client._operate`."""
        watch = self._watch(operation, reference)
        if watch is None:
            try:
                return await self._drive(prepare())
            except PayplaneError as exc:
                self._leaving(exc, operation)
                raise
        run: FlowRun[T] | None = None
        try:
            run = prepare()
            result = await self._drive(run)
        except BaseException as exc:
            if isinstance(exc, PayplaneError):
                self._leaving(exc, operation)
            watch.failed(exc, run)
            raise
        watch.succeeded(result, run)
        return result

    async def _send(self, run: FlowRun[Any], request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        try:
            return await self._attempt(run, request, 1)
        except (TransportError, ClientClosedError) as exc:
            first = exc
        return await self._send_again(run, request, first, started)

    async def _send_again(
        self,
        run: FlowRun[Any],
        request: HttpRequest,
        first: TransportError | ClientClosedError,
        started: float,
    ) -> HttpResponse:
        reached = _reached(first)
        try:
            timeout = self._retry_after(first, started)
            pending: PayplaneError | None = first
            async for attempt in self._retrying(timeout):
                with attempt:
                    if pending is not None:
                        error, pending = pending, None
                        raise error
                    try:
                        return await self._attempt(run, request, attempt.num)
                    except (TransportError, ClientClosedError) as exc:
                        reached = reached or _reached(exc)
                        raise
            raise AssertionError  # pragma: no cover - stamina re-raises the last error
        except (TransportError, ClientClosedError) as exc:
            last: PayplaneError = exc
        raise self._gave_up(request, last, reached=reached)

    async def _attempt(self, run: FlowRun[Any], request: HttpRequest, attempt: int) -> HttpResponse:
        self._check_open(request)
        built = self._to_httpx(request)
        run.attempts += 1
        if attempt > 1:
            run.retries += 1
        self._observe_request(request, attempt)
        started = time.perf_counter()
        try:
            if request.moves_money:
                raw = await self._http.send(built, follow_redirects=False)
            else:
                raw = await self._http.send(built)
        except BaseException as exc:
            error = self._failed_attempt(request, exc, attempt, started)
            if error is exc:
                raise
        else:
            response = _to_response(raw)
            self._observe_response(request, response, time.perf_counter() - started, attempt)
            self._check_status(request, response)
            return response
        raise error  # outside the except block: no implicit link to the httpx error

    async def _drive(self, run: FlowRun[T]) -> T:
        """Send each request of *run* until the flow returns its result."""
        shown = False
        while (request := run.request) is not None:
            try:
                response = await self._send(run, request)
            except PayplaneError as exc:
                error = run.failed(exc)
                if error is exc:
                    raise
                raise error from exc
            except BaseException:
                run.close()  # a cancellation, a hook's or transport's own error
                raise
            shown = shown or self._redact.found_in(response.content)
            run.advance(response)
        return self._result(run, shown)

    async def run(self, flow: Flow[T], *, operation: str | None = None) -> T:
        """Async :meth:`Client.run`."""
        name = operation or str(getattr(flow, "__name__", "run"))
        return await self._operate(name, None, lambda: self._flow_run(flow, name))

    async def start_deposit(self, request: DepositRequest) -> DepositStart:
        """Async :meth:`Client.start_deposit`."""
        return await self._operate(
            "start_deposit", request.reference, lambda: self._deposit_run(request)
        )

    async def activate_deposit(self, request: ActivationRequest) -> ActivationResult:
        """Async :meth:`Client.activate_deposit`."""
        return await self._operate(
            "activate_deposit", request.reference, lambda: self._activation_run(request)
        )

    async def create_withdrawal(self, request: WithdrawalRequest) -> WithdrawalResult:
        """Async :meth:`Client.create_withdrawal`."""
        return await self._operate(
            "create_withdrawal", request.reference, lambda: self._withdrawal_run(request)
        )

    async def look_up(self, request: LookupRequest) -> LookupResult:
        """Async :meth:`Client.look_up`."""
        return await self._operate("look_up", request.reference, lambda: self._lookup_run(request))

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Async :meth:`Client.create_refund`."""
        return await self._operate(
            "create_refund", request.reference, lambda: self._refund_run(request)
        )
