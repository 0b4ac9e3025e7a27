"""Sync and async clients: run a provider's request descriptions over httpx.

Everything but the I/O lives in ``_BaseClient``; ``Client`` and ``AsyncClient`` differ
only in how they send (httpx's own ``BaseClient`` split).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import attrs
import httpx
import stamina

from payplane._flow import Flow, FlowRun
from payplane._http import HttpRequest, HttpResponse, PostbackAnswer
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
from payplane._registry import require
from payplane._secrets import Redactor, secret_values
from payplane._spec import ProviderSpec
from payplane.exceptions import (
    ConfigurationError,
    PayplaneError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)

__all__ = ["DEFAULT_TIMEOUT", "AsyncClient", "Client", "RetryPolicy"]

logger = logging.getLogger("payplane.client")

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


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how often the client retries, with exponential backoff and jitter.

    A request is retried only when a retry cannot repeat an effect: the connection was
    never made, or the request is replay-safe (a read, or an idempotency key the
    provider honours). Retries are run by `stamina <https://stamina.hynek.me>`_.

    Attributes:
        attempts: Total attempts, the first included (1 disables retries).
        timeout: Give up retrying after this many seconds in all.
        wait_initial: First backoff, in seconds.
        wait_max: Longest backoff, in seconds.
        wait_jitter: Random jitter added to each backoff, up to this many seconds.
    """

    attempts: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    timeout: float = 30.0
    wait_initial: float = 0.1
    wait_max: float = 2.0
    wait_jitter: float = 0.5


class _RedactingFilter(logging.Filter):
    """Redacts client secrets from records of loggers payplane does not own (httpx).

    httpx logs every request's URL at INFO, and Paykassma puts a secret in the query
    string, so the filter rewrites those records before any handler sees them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self._redact = Redactor(())
        self._lock = threading.Lock()

    def add(self, secrets: frozenset[str]) -> None:
        with self._lock:
            if not secrets <= self.secrets:
                self.secrets |= secrets
                self._redact = Redactor(self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_REDACTOR = _RedactingFilter()
for _name in ("httpx", "httpcore", "stamina"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def _is_retryable(exc: Exception) -> bool:
    return isinstance(exc, TransportError) and exc.retry_safe


class _BaseClient:
    """Everything but the I/O: capability checks, redaction, hooks, error mapping."""

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
        # Every exchange may redact its URL and body: work the secrets' forms out once.
        self._redact = Redactor(self._secrets)
        self._urls: dict[str, httpx.URL] = {}
        _REDACTOR.add(self._secrets)

    @property
    def provider_id(self) -> str:
        """The provider's id."""
        return self.spec.id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.spec.id!r}>"

    # -- shared steps --------------------------------------------------------------

    def _require(self, capability: Capability) -> Any:  # noqa: ANN401
        return require(self.spec, self.provider, capability)

    def _redacted(self, request: HttpRequest) -> HttpRequest:
        try:
            content = self._redact(request.content.decode()).encode()
        except UnicodeDecodeError:
            content = request.content
        return attrs.evolve(request, url=self._redact(request.url), content=content)

    def _observed(self, name: str) -> bool:
        """Whether a hook implementation observes hook *name* (none: skip the work)."""
        hooks = self._hooks
        return hooks is not None and bool(getattr(hooks, name).get_hookimpls())

    def _stamp(self, exc: PayplaneError, operation: str) -> PayplaneError:
        if exc.provider is None:
            exc.provider = self.spec.id
        if exc.operation is None:
            exc.operation = operation
        exc.message = self._redact(exc.message)
        return exc

    def _observe_request(self, request: HttpRequest) -> None:
        # Redacting a request costs about as much as the rest of payplane's work on an
        # exchange, so it is done only for a debug log or a hook implementation.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s %s", self.spec.id, request.method, self._redact(request.url))
        if self._observed("payplane_request_sent"):
            self._hooks.payplane_request_sent(
                provider=self.spec.id, request=self._redacted(request)
            )

    def _observe_response(
        self, request: HttpRequest, response: HttpResponse, elapsed: float
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
                response=response,
                elapsed=elapsed,
            )

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
        """Raise a retryable error for a transient status on a replay-safe request."""
        if request.replay_safe and response.status_code in _RETRY_STATUSES:
            msg = f"HTTP {response.status_code}"
            raise TransportError(
                msg,
                retry_safe=True,
                provider=self.spec.id,
                operation=request.operation,
            )

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
        try:
            run = FlowRun(make(), self.spec.id, operation)
            run.start()
        except PayplaneError as exc:
            raise self._stamp(exc, operation) from exc.__cause__
        return run

    def _advance(self, run: FlowRun[T], response: HttpResponse) -> None:
        try:
            run.advance(response)
        except PayplaneError as exc:
            self._stamp(exc, run.operation)
            raise

    def _failed(self, run: FlowRun[T], exc: PayplaneError) -> PayplaneError:
        return self._stamp(run.failed(exc), run.operation)

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
        provider: PostbackProvider = self._require(Capability.POSTBACKS)
        return provider.postback_answer(accepted=accepted)

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackEvent | OtherEvent:
        """Verify a raw postback *body* and parse it into an event.

        A payment event is a :class:`~payplane.PostbackEvent`; a verified event about
        anything else is an :class:`~payplane.OtherEvent`. No I/O, so the sync and async
        clients share it (on :class:`AsyncClient` it is not awaited).

        Raises:
            UnsupportedCapabilityError: the provider does not declare postbacks.
            SignatureError: the signature or access key does not match.
            MalformedPayloadError: the body is not a postback (or too large).
        """
        provider: PostbackProvider = self._require(Capability.POSTBACKS)
        try:
            return provider.verify_postback(body, headers or {})
        except PayplaneError as exc:
            self._stamp(exc, "verify_postback")
            raise


# The request fields holding money, per request type: a str field is a currency code.
_MONEY_FIELDS: dict[type, tuple[str, ...]] = {
    DepositRequest: ("currency", "amount"),
    ActivationRequest: ("amount",),
    WithdrawalRequest: ("amount",),
    RefundRequest: ("amount", "deposit_amount"),
}


def _to_response(response: httpx.Response) -> HttpResponse:
    # HttpResponse's converter walks headers.items() once (httpx merges repeated names
    # there); no intermediate dict.
    return HttpResponse(
        status_code=response.status_code, headers=response.headers, content=response.content
    )


def _to_httpx(
    client: httpx.Client | httpx.AsyncClient,
    request: HttpRequest,
    urls: dict[str, httpx.URL],
) -> httpx.Request:
    # Parsing a URL is a third of what building an httpx request costs, and a provider
    # sends few distinct ones: each client keeps them parsed (a bounded cache).
    url = urls.get(request.url)
    if url is None:
        if len(urls) >= _URL_CACHE_SIZE:
            urls.clear()
        url = urls[request.url] = httpx.URL(request.url)
    return client.build_request(
        request.method, url, headers=request.headers, content=request.content
    )


_URL_CACHE_SIZE = 256


class Client(_BaseClient):
    """Synchronous client of one provider.

    Create it with :func:`payplane.client`. Pass *http_client* to share your own
    ``httpx.Client`` (payplane will not close it), or *transport* to run over an
    ``httpx`` transport (``httpx.MockTransport`` in tests); otherwise the client owns
    an ``httpx.Client`` (5 s to connect, 30 s for each other phase) and closes it in
    :meth:`close` or at the end of a ``with`` block.
    """

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
        super().__init__(spec, settings, provider, hooks=hooks, retry=retry)
        if http_client is not None and transport is not None:
            msg = "pass http_client or transport, not both"
            raise TypeError(msg)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=timeout if timeout is not None else DEFAULT_TIMEOUT
        )

    def close(self) -> None:
        """Close the owned httpx client (a client passed in stays open)."""
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

    def _send(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        try:
            return self._attempt(request)
        except Exception as exc:  # noqa: BLE001 - _retry_after re-raises what it does not retry
            first: Exception | None = exc
            timeout = self._retry_after(exc, started)
        for attempt in self._retrying(timeout):
            with attempt:
                if first is not None:
                    error, first = first, None
                    raise error
                return self._attempt(request)
        raise AssertionError  # pragma: no cover - stamina re-raises the last error

    def _attempt(self, request: HttpRequest) -> HttpResponse:
        self._observe_request(request)
        started = time.perf_counter()
        try:
            raw = self._http.send(_to_httpx(self._http, request, self._urls))
        except httpx.HTTPError as exc:
            raise self._transport_error(request, exc) from exc
        response = _to_response(raw)
        self._observe_response(request, response, time.perf_counter() - started)
        self._check_status(request, response)
        return response

    def _drive(self, run: FlowRun[T]) -> T:
        """Send each request of *run* until the flow returns its result."""
        while (request := run.request) is not None:
            try:
                response = self._send(request)
            except PayplaneError as exc:
                error = self._failed(run, exc)
                if error is exc:
                    raise
                raise error from exc
            except BaseException:
                run.close()  # a cancellation, a hook's or transport's own error
                raise
            self._advance(run, response)
        return cast("T", run.result)

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
        try:
            run = FlowRun(flow, self.spec.id, name)
            run.start()
        except PayplaneError as exc:
            raise self._stamp(exc, name) from exc.__cause__
        return self._drive(run)

    def start_deposit(self, request: DepositRequest) -> DepositStart:
        """Start a deposit: payment details and/or a hosted page URL.

        Raises:
            UnsupportedCapabilityError: the provider does not take deposits.
            ValidationError: the request breaks a provider limit (nothing was sent).
            ProviderDeclinedError: the provider refused.
            TransportError: the exchange failed.
        """
        provider: DepositProvider = self._require(Capability.DEPOSITS)
        self._check_amounts(Capability.DEPOSITS, "start_deposit", request)
        return self._drive(self._start("start_deposit", lambda: provider.start_deposit(request)))

    def activate_deposit(self, request: ActivationRequest) -> ActivationResult:
        """Activate a deposit from the user's wallet transaction id.

        Raises:
            UnknownOutcomeError: sent, and the answer was lost or cannot be classified.
            ValidationError, ProviderDeclinedError, TransportError: as their names say.
        """
        provider: ActivationProvider = self._require(Capability.ACTIVATION)
        self._check_amounts(Capability.ACTIVATION, "activate_deposit", request)
        return self._drive(
            self._start("activate_deposit", lambda: provider.activate_deposit(request))
        )

    def create_withdrawal(self, request: WithdrawalRequest) -> WithdrawalResult:
        """Create a withdrawal (payout). ``request.reference`` is its idempotency key.

        Raises:
            UnknownOutcomeError: sent, and the answer was lost or cannot be classified:
                the payout may exist. Look it up (:meth:`look_up`) or retry only with the
                same ``request``.
            InsufficientFundsError: the merchant balance is too low.
            SignatureError: the provider rejected payplane's signature (check the key).
            ValidationError, ProviderDeclinedError, IntegrityError: as their names say.
            TransportError: the exchange failed.
        """
        provider: WithdrawalProvider = self._require(Capability.WITHDRAWALS)
        self._check_amounts(Capability.WITHDRAWALS, "create_withdrawal", request)
        return self._drive(
            self._start("create_withdrawal", lambda: provider.create_withdrawal(request))
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
        """
        provider: LookupProvider = self._require(Capability.LOOKUPS)
        return self._drive(self._start("look_up", lambda: provider.look_up(request)))

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
        """
        provider: RefundProvider = self._require(Capability.REFUNDS)
        self._check_amounts(Capability.REFUNDS, "create_refund", request)
        return self._drive(self._start("create_refund", lambda: provider.create_refund(request)))


class AsyncClient(_BaseClient):
    """Asynchronous client of one provider; the async twin of :class:`Client`.

    Create it with :func:`payplane.async_client` and close it with :meth:`aclose` or
    ``async with``.
    """

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
        super().__init__(spec, settings, provider, hooks=hooks, retry=retry)
        if http_client is not None and transport is not None:
            msg = "pass http_client or transport, not both"
            raise TypeError(msg)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=timeout if timeout is not None else DEFAULT_TIMEOUT
        )

    async def aclose(self) -> None:
        """Close the owned httpx client (a client passed in stays open)."""
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

    async def _send(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        try:
            return await self._attempt(request)
        except Exception as exc:  # noqa: BLE001 - _retry_after re-raises what it does not retry
            first: Exception | None = exc
            timeout = self._retry_after(exc, started)
        async for attempt in self._retrying(timeout):
            with attempt:
                if first is not None:
                    error, first = first, None
                    raise error
                return await self._attempt(request)
        raise AssertionError  # pragma: no cover - stamina re-raises the last error

    async def _attempt(self, request: HttpRequest) -> HttpResponse:
        self._observe_request(request)
        started = time.perf_counter()
        try:
            raw = await self._http.send(_to_httpx(self._http, request, self._urls))
        except httpx.HTTPError as exc:
            raise self._transport_error(request, exc) from exc
        response = _to_response(raw)
        self._observe_response(request, response, time.perf_counter() - started)
        self._check_status(request, response)
        return response

    async def _drive(self, run: FlowRun[T]) -> T:
        """Send each request of *run* until the flow returns its result."""
        while (request := run.request) is not None:
            try:
                response = await self._send(request)
            except PayplaneError as exc:
                error = self._failed(run, exc)
                if error is exc:
                    raise
                raise error from exc
            except BaseException:
                run.close()  # a cancellation, a hook's or transport's own error
                raise
            self._advance(run, response)
        return cast("T", run.result)

    async def run(self, flow: Flow[T], *, operation: str | None = None) -> T:
        """Async :meth:`Client.run`."""
        name = operation or str(getattr(flow, "__name__", "run"))
        try:
            run = FlowRun(flow, self.spec.id, name)
            run.start()
        except PayplaneError as exc:
            raise self._stamp(exc, name) from exc.__cause__
        return await self._drive(run)

    async def start_deposit(self, request: DepositRequest) -> DepositStart:
        """Async :meth:`Client.start_deposit`."""
        provider: DepositProvider = self._require(Capability.DEPOSITS)
        self._check_amounts(Capability.DEPOSITS, "start_deposit", request)
        return await self._drive(
            self._start("start_deposit", lambda: provider.start_deposit(request))
        )

    async def activate_deposit(self, request: ActivationRequest) -> ActivationResult:
        """Async :meth:`Client.activate_deposit`."""
        provider: ActivationProvider = self._require(Capability.ACTIVATION)
        self._check_amounts(Capability.ACTIVATION, "activate_deposit", request)
        return await self._drive(
            self._start("activate_deposit", lambda: provider.activate_deposit(request))
        )

    async def create_withdrawal(self, request: WithdrawalRequest) -> WithdrawalResult:
        """Async :meth:`Client.create_withdrawal`."""
        provider: WithdrawalProvider = self._require(Capability.WITHDRAWALS)
        self._check_amounts(Capability.WITHDRAWALS, "create_withdrawal", request)
        return await self._drive(
            self._start("create_withdrawal", lambda: provider.create_withdrawal(request))
        )

    async def look_up(self, request: LookupRequest) -> LookupResult:
        """Async :meth:`Client.look_up`."""
        provider: LookupProvider = self._require(Capability.LOOKUPS)
        return await self._drive(self._start("look_up", lambda: provider.look_up(request)))

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Async :meth:`Client.create_refund`."""
        provider: RefundProvider = self._require(Capability.REFUNDS)
        self._check_amounts(Capability.REFUNDS, "create_refund", request)
        return await self._drive(
            self._start("create_refund", lambda: provider.create_refund(request))
        )
