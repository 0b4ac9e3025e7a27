"""Clients over httpx: capabilities, retries, unknown outcomes, hooks, redaction."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import payplane_fakepsp
import pytest
from payplane_fakepsp import TEST_API_KEY as API_KEY
from payplane_fakepsp import TEST_WEBHOOK_SECRET as WEBHOOK_SECRET

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    PostbackEvent,
    PostbackKind,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import (
    ClientClosedError,
    ConfigurationError,
    InsufficientFundsError,
    MalformedPayloadError,
    PayloadTooLargeError,
    ProviderDeclinedError,
    SignatureError,
    TransportError,
    UnknownOutcomeError,
    UnsupportedCapabilityError,
    ValidationError,
)
from payplane.hookspecs import hookimpl
from payplane.testing import captured_log_records, log_record_texts

FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
Handler = Callable[[httpx.Request], httpx.Response]


def _withdrawal(**changes: Any) -> WithdrawalRequest:
    values: dict[str, Any] = {
        "customer_id": "user-1",
        "amount": Money("25.50", "USD"),
        "account_number": "0123456789",
    } | changes
    return WithdrawalRequest(**values)


def _client(
    registry: payplane.Registry, settings: dict[str, object], handler: Handler
) -> payplane.Client:
    return registry.client("fakepsp", settings, transport=httpx.MockTransport(handler), retry=FAST)


def test_start_deposit_fetches_details_and_builds_url(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """One exchange for the details; the hosted URL needs none."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"account": "ACC-1"})

    with _client(registry, settings, handler) as client:
        start = client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert start.payment_details is not None
    assert start.payment_details.account == "ACC-1"
    assert start.hosted_page_url == "https://fakepsp.test/pay?customer=u1"
    assert len(seen) == 1
    assert seen[0].headers["api-key"] == API_KEY


def test_start_deposit_without_details_sends_nothing(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Only a hosted page asked for: no HTTP at all."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(request)

    with _client(registry, settings, handler) as client:
        start = client.start_deposit(
            DepositRequest(customer_id="u1", currency="USD", payment_details=False)
        )
    assert start.payment_details is None
    assert start.hosted_page_url is not None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("credited", ActivationOutcome.CREDITED),
        ("short", ActivationOutcome.BELOW_MINIMUM),
        ("pending", ActivationOutcome.PENDING),
        ("review", ActivationOutcome.UNDER_REVIEW),
        ("rejected", ActivationOutcome.REJECTED),
        ("brand-new", ActivationOutcome.UNKNOWN),
    ],
)
def test_activation_outcomes(
    registry: payplane.Registry,
    settings: dict[str, object],
    status: str,
    outcome: ActivationOutcome,
) -> None:
    """Each answer maps to its neutral outcome, the raw value beside it."""
    handler = lambda _r: httpx.Response(200, json={"status": status, "credited": "10.00"})  # noqa: E731
    with _client(registry, settings, handler) as client:
        result = client.activate_deposit(
            ActivationRequest(customer_id="u1", amount=Money("10.00", "USD"), transaction_id="T1")
        )
    assert result.outcome.status is outcome
    assert result.outcome.raw == status
    assert result.credited == Money("10.00", "USD")


def test_withdrawal_generates_reference() -> None:
    """A withdrawal without a reference gets a fresh UUID: the idempotency key."""
    first, second = _withdrawal(), _withdrawal()
    assert len(first.reference) == 36
    assert first.reference != second.reference


def test_withdrawal_is_created(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """An accepted payout is pending, with the request's reference."""
    request = _withdrawal()

    def handler(http: httpx.Request) -> httpx.Response:
        assert json.loads(http.content)["id"] == request.reference
        return httpx.Response(200, json={"status": "queued"})

    with _client(registry, settings, handler) as client:
        result = client.create_withdrawal(request)
    assert result.reference == request.reference
    assert result.status.status is WithdrawalStatus.PENDING


def test_insufficient_funds(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """The provider's balance refusal is a neutral InsufficientFundsError."""
    handler = lambda _r: httpx.Response(200, json={"error": "insufficient"})  # noqa: E731
    with (
        _client(registry, settings, handler) as client,
        pytest.raises(InsufficientFundsError) as info,
    ):
        client.create_withdrawal(_withdrawal())
    assert info.value.provider == "fakepsp"
    assert info.value.operation == "create_withdrawal"


def test_declined(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """A refusal carries the provider's message."""
    handler = lambda _r: httpx.Response(200, json={"error": "account closed"})  # noqa: E731
    with (
        _client(registry, settings, handler) as client,
        pytest.raises(ProviderDeclinedError) as info,
    ):
        client.create_withdrawal(_withdrawal())
    assert info.value.provider_message == "account closed"


def test_connect_error_is_retried(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """A connection never made is retried, even for a money-moving request."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"status": "credited"})

    with _client(registry, settings, handler) as client:
        result = client.activate_deposit(
            ActivationRequest(customer_id="u1", amount=Money(1, "USD"), transaction_id="T1")
        )
    assert result.outcome.status is ActivationOutcome.CREDITED
    assert len(calls) == 3


def test_connect_error_gives_up_after_attempts(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """After the last attempt the retry-safe transport error surfaces."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(registry, settings, handler) as client, pytest.raises(TransportError) as info:
        client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert info.value.retry_safe
    assert not isinstance(info.value, UnknownOutcomeError)


def test_lost_answer_of_money_moving_call_is_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A read timeout after an activation was sent: outcome unknown, not retried, not failed."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("timed out", request=request)

    request = ActivationRequest(
        customer_id="u1", amount=Money(1, "USD"), transaction_id="T1", reference="act-42"
    )
    with _client(registry, settings, handler) as client, pytest.raises(UnknownOutcomeError) as info:
        client.activate_deposit(request)
    assert info.value.reference == "act-42"
    assert not info.value.retry_safe
    assert len(calls) == 1


def test_lost_answer_of_replay_safe_call_is_retried(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A withdrawal with an honoured idempotency key is re-sent after a lost answer."""
    calls: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"status": "queued"})

    with _client(registry, settings, handler) as client:
        client.create_withdrawal(_withdrawal())
    assert len(calls) == 2
    assert calls[0] == calls[1]


def test_unclassifiable_answer_to_money_moving_call_is_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """An HTML error page after a payout was sent cannot be a failure."""
    handler = lambda _r: httpx.Response(500, text="<html>oops</html>")  # noqa: E731
    request = _withdrawal(reference="wd-7")
    with _client(registry, settings, handler) as client, pytest.raises(UnknownOutcomeError) as info:
        client.create_withdrawal(request)
    assert info.value.reference == "wd-7"
    assert isinstance(info.value.__cause__, MalformedPayloadError)


def test_transient_status_on_replay_safe_call_is_retried(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """503 on a replay-safe request is retried."""
    statuses = [503, 200]

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses.pop(0), json={"account": "A"})

    with _client(registry, settings, handler) as client:
        start = client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert start.payment_details is not None
    assert statuses == []


def test_validation_happens_before_sending(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A provider limit is checked before any byte leaves."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(request)

    with _client(registry, settings, handler) as client, pytest.raises(ValidationError) as info:
        client.activate_deposit(
            ActivationRequest(customer_id="u1", amount=Money(1, "USD"), transaction_id="T" * 13)
        )
    assert info.value.field == "transaction_id"
    assert info.value.limit == "<= 12 characters"
    assert info.value.provider == "fakepsp"


def test_unsupported_capability(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """Asking a provider for an operation it does not declare is a clear error."""
    spec = registry.spec("fakepsp")
    limited = payplane.ProviderSpec(
        id="limited",
        display_name="Limited",
        capabilities={payplane.Capability.POSTBACKS},
        currencies={"USD"},
        api_version=payplane.PLUGIN_API_VERSION,
        settings=spec.settings,
        factory=spec.factory,
    )

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [limited]

    registry.register(Plugin(), name="limited")
    with (
        registry.client("limited", settings) as client,
        pytest.raises(UnsupportedCapabilityError) as info,
    ):
        client.create_withdrawal(_withdrawal())
    assert info.value.capability == "withdrawals"


def _postback(
    payload: dict[str, object], secret: str = WEBHOOK_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"X-Signature": payplane_fakepsp.sign(body, secret)}


def test_postback_verified_and_parsed(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A correctly signed postback becomes an event with exact money."""
    body, headers = _postback(
        {"kind": "withdrawal", "id": "wd-1", "status": "paid", "amount": 25.5, "currency": "USD"}
    )
    with registry.client("fakepsp", settings) as client:
        event = client.verify_postback(body, headers)
    assert isinstance(event, PostbackEvent)
    assert event.kind is PostbackKind.WITHDRAWAL
    assert event.amount == Money("25.5", "USD")
    assert event.status.status is WithdrawalStatus.SUCCEEDED
    assert event.event_key == "withdrawal:wd-1:paid"


def test_postback_with_wrong_signature_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A postback signed with another key never becomes an event."""
    body, headers = _postback({"kind": "deposit"}, secret="another-secret-value")
    with registry.client("fakepsp", settings) as client, pytest.raises(SignatureError) as info:
        client.verify_postback(body, headers)
    assert info.value.operation == "verify_postback"


def test_postback_too_large_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """An over-size body is refused before anything else."""
    with (
        registry.client("fakepsp", settings) as client,
        pytest.raises(PayloadTooLargeError) as info,
    ):
        client.verify_postback(b"x" * 5000, {})
    assert (info.value.size, info.value.limit) == (5000, 4096)


class _Observer:
    def __init__(self) -> None:
        self.sent: list[payplane.HttpRequest] = []
        self.received: list[tuple[int, float]] = []

    @hookimpl
    def payplane_request_sent(self, provider: str, request: payplane.HttpRequest) -> None:
        assert provider == "fakepsp"
        self.sent.append(request)

    @hookimpl
    def payplane_response_received(self, response: payplane.HttpResponse, elapsed: float) -> None:
        self.received.append((response.status_code, elapsed))


def test_hooks_observe_redacted_requests(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Observer plugins see each request, secrets redacted, and each response."""
    observer = _Observer()
    registry.register(observer, name="observer")
    handler = lambda _r: httpx.Response(200, json={"account": "A"})  # noqa: E731
    with _client(registry, settings, handler) as client:
        client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    (sent,) = observer.sent
    assert sent.headers["api-key"] == "***"  # a credential header, masked by name
    assert sent.headers["content-type"] == "application/json"
    assert API_KEY not in sent.url
    assert observer.received[0][0] == 200


def test_secret_in_url_is_redacted_from_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    """A secret in the query string shows as *** in log lines and exception text."""
    registry = payplane.Registry(autoload=False)

    class QueryProvider(payplane_fakepsp.FakeProvider):
        def build_deposit(self, request: DepositRequest) -> payplane.HttpRequest:
            return payplane.HttpRequest(
                operation="start_deposit",
                method="GET",
                url=f"{self.settings.base_url}/d?secret={self.settings.api_key.reveal()}",
                replay_safe=False,
            )

    plugin_spec = payplane.ProviderSpec(
        id="query",
        display_name="Query",
        capabilities={payplane.Capability.DEPOSITS},
        currencies={"USD"},
        api_version=payplane.PLUGIN_API_VERSION,
        settings=payplane_fakepsp.FakeSettings,
        factory=QueryProvider,
    )

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [plugin_spec]

    registry.register(Plugin(), name="query")
    secret = "query-secret-in-url-777"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["secret"] == secret
        raise httpx.ReadTimeout(f"timed out on {request.url}", request=request)

    settings = {"base_url": "https://q.test", "api_key": secret, "webhook_secret": "w" * 12}
    caplog.set_level(logging.DEBUG)
    with (
        registry.client(
            "query", settings, transport=httpx.MockTransport(handler), retry=FAST
        ) as client,
        pytest.raises(TransportError) as info,
    ):
        client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert secret not in str(info.value)
    assert "secret=***" in str(info.value)
    assert any("secret=***" in record.getMessage() for record in caplog.records)
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_settings_repr_hides_secrets(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Neither the settings' repr nor the client's shows a secret."""
    with registry.client("fakepsp", settings) as client:
        assert API_KEY not in repr(client.settings)
        assert WEBHOOK_SECRET not in repr(client.settings)
        assert "***" in repr(client.settings)
        assert API_KEY not in repr(client)


def test_owned_http_client_closed(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """Leaving the with block closes the owned httpx client; a passed-in one stays open."""
    with registry.client("fakepsp", settings) as client:
        pass
    assert client._http.is_closed
    shared = httpx.Client()
    with registry.client("fakepsp", settings, http_client=shared):
        pass
    assert not shared.is_closed
    shared.close()


def test_http_client_and_transport_are_exclusive(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Passing both is a configuration error naming the option."""
    with httpx.Client() as shared, pytest.raises(ConfigurationError) as info:
        registry.client(
            "fakepsp",
            settings,
            http_client=shared,
            transport=httpx.MockTransport(lambda _r: httpx.Response(200)),
        )
    assert info.value.field == "transport"


# -- async ---------------------------------------------------------------------


def _async_client(
    registry: payplane.Registry, settings: dict[str, object], handler: Handler
) -> payplane.AsyncClient:
    return registry.async_client(
        "fakepsp", settings, transport=httpx.MockTransport(handler), retry=FAST
    )


async def test_async_full_flow(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """The async client runs every capability through the same provider."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/deposits":
            return httpx.Response(200, json={"account": "A"})
        if path == "/activations":
            return httpx.Response(200, json={"status": "credited", "credited": "5"})
        return httpx.Response(200, json={"status": "queued"})

    async with _async_client(registry, settings, handler) as client:
        start = await client.start_deposit(DepositRequest(customer_id="u", currency="USD"))
        activation = await client.activate_deposit(
            ActivationRequest(customer_id="u", amount=Money(5, "USD"), transaction_id="T")
        )
        withdrawal = await client.create_withdrawal(_withdrawal())
        body, headers = _postback(
            {"kind": "deposit", "id": "d1", "status": "paid", "amount": "5", "currency": "USD"}
        )
        event = client.verify_postback(body, headers)
    assert start.payment_details is not None
    assert activation.credited == Money(5, "USD")
    assert withdrawal.status.status is WithdrawalStatus.PENDING
    assert isinstance(event, PostbackEvent)
    assert event.status.status.is_success


async def test_async_lost_answer_is_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client reports an unknown outcome just like the sync one."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server hung up", request=request)

    request = ActivationRequest(
        customer_id="u", amount=Money(5, "USD"), transaction_id="T", reference="r-9"
    )
    async with _async_client(registry, settings, handler) as client:
        with pytest.raises(UnknownOutcomeError) as info:
            await client.activate_deposit(request)
    assert info.value.reference == "r-9"


async def test_async_connect_error_retried(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client retries a connection never made."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectTimeout("slow", request=request)
        return httpx.Response(200, json={"status": "queued"})

    async with _async_client(registry, settings, handler) as client:
        await client.create_withdrawal(_withdrawal())
    assert len(calls) == 2


def test_postback_answer_comes_from_the_provider(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The client hands out the provider's acknowledgement and its retry-later answer."""
    with registry.client("fakepsp", settings) as client:
        assert client.postback_answer(accepted=True).status_code == 204
        assert client.postback_answer(accepted=False).status_code == 503


# -- a lost answer is not always an unknown outcome (money-moving, replay-safe) ----------


def _always(error: type[httpx.TransportError]) -> tuple[Handler, list[int]]:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise error("lost", request=request)

    return handler, calls


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_replay_safe_payout_that_never_got_an_answer_is_unknown(
    registry: payplane.Registry, settings: dict[str, object], error: type[httpx.TransportError]
) -> None:
    """Every attempt of a replay-safe payout lost its answer: unknown outcome, reference."""
    handler, calls = _always(error)
    with _client(registry, settings, handler) as client, pytest.raises(UnknownOutcomeError) as info:
        client.create_withdrawal(_withdrawal(reference="wd-lost"))
    assert info.value.reference == "wd-lost"
    assert not info.value.retry_safe
    assert len(calls) == FAST.attempts
    assert isinstance(info.value.__cause__, TransportError)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_replay_safe_payout_answered_transiently_every_time_is_unknown(
    registry: payplane.Registry, settings: dict[str, object], status: int
) -> None:
    """A transient status on every attempt: the provider was reached, the outcome unknown."""
    calls: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status)

    with _client(registry, settings, handler) as client, pytest.raises(UnknownOutcomeError) as info:
        client.create_withdrawal(_withdrawal(reference="wd-busy"))
    assert info.value.reference == "wd-busy"
    assert f"HTTP {status}" in info.value.message
    assert len(calls) == FAST.attempts


def test_replay_safe_payout_never_connected_is_a_retry_safe_transport_error(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """No attempt ever connected: nothing can have happened, so no unknown outcome."""
    handler, calls = _always(httpx.ConnectError)
    with _client(registry, settings, handler) as client, pytest.raises(TransportError) as info:
        client.create_withdrawal(_withdrawal())
    assert not isinstance(info.value, UnknownOutcomeError)
    assert info.value.retry_safe
    assert len(calls) == FAST.attempts


def test_one_attempt_that_may_have_arrived_makes_the_outcome_unknown(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Connect error, lost answer, connect error: the middle attempt may have paid."""
    errors = [httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectError]

    def handler(request: httpx.Request) -> httpx.Response:
        raise errors.pop(0)("failed", request=request)

    with _client(registry, settings, handler) as client, pytest.raises(UnknownOutcomeError) as info:
        client.create_withdrawal(_withdrawal(reference="wd-mixed"))
    assert info.value.reference == "wd-mixed"
    assert errors == []


def test_single_attempt_payout_that_lost_its_answer_is_unknown(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """With retries off, the one lost answer of a replay-safe payout is an unknown outcome."""
    handler, calls = _always(httpx.ReadTimeout)
    with (
        registry.client(
            "fakepsp",
            settings,
            transport=httpx.MockTransport(handler),
            retry=payplane.RetryPolicy(attempts=1),
        ) as client,
        pytest.raises(UnknownOutcomeError) as info,
    ):
        client.create_withdrawal(_withdrawal(reference="wd-once"))
    assert info.value.reference == "wd-once"
    assert len(calls) == 1


def test_read_that_never_got_an_answer_stays_a_transport_error(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A replay-safe read moves no money: after its attempts, a retry-safe TransportError."""
    handler, _calls = _always(httpx.ReadTimeout)
    with _client(registry, settings, handler) as client, pytest.raises(TransportError) as info:
        client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert not isinstance(info.value, UnknownOutcomeError)
    assert info.value.retry_safe


async def test_async_replay_safe_payout_that_never_got_an_answer_is_unknown(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client gives up with the same unknown outcome."""
    handler, calls = _always(httpx.ReadTimeout)
    async with _async_client(registry, settings, handler) as client:
        with pytest.raises(UnknownOutcomeError) as info:
            await client.create_withdrawal(_withdrawal(reference="wd-async"))
    assert info.value.reference == "wd-async"
    assert len(calls) == FAST.attempts


async def test_async_payout_never_connected_is_a_transport_error(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client: no attempt connected, no unknown outcome."""
    handler, _calls = _always(httpx.ConnectTimeout)
    async with _async_client(registry, settings, handler) as client:
        with pytest.raises(TransportError) as info:
            await client.create_withdrawal(_withdrawal())
    assert not isinstance(info.value, UnknownOutcomeError)


# -- redirects of money-moving requests are never followed --------------------------------


def _redirecting(location: str) -> tuple[Handler, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path in {"/withdrawals", "/activations", "/deposits"}:
            return httpx.Response(307, headers={"location": location})
        return httpx.Response(200, json={"status": "queued", "account": "A"})

    return handler, seen


def test_a_payout_is_never_sent_twice_on_a_redirect(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A shared httpx client that follows redirects does not follow a payout's 307."""
    handler, seen = _redirecting(f"https://fakepsp.test/again?key={API_KEY}")
    with (
        httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as http,
        registry.client("fakepsp", settings, http_client=http, retry=FAST) as client,
        pytest.raises(UnknownOutcomeError) as info,
    ):
        client.create_withdrawal(_withdrawal(reference="wd-307"))
    assert seen == ["POST /withdrawals"]
    assert info.value.reference == "wd-307"
    assert "HTTP 307" in info.value.message
    assert "key=***" in info.value.message


def test_an_activation_redirect_is_an_unknown_outcome(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A 302 to an activation (money-moving, not replay-safe) is not followed either."""
    handler, seen = _redirecting("https://fakepsp.test/elsewhere")
    with (
        httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as http,
        registry.client("fakepsp", settings, http_client=http) as client,
        pytest.raises(UnknownOutcomeError) as info,
    ):
        client.activate_deposit(
            ActivationRequest(
                customer_id="u1", amount=Money(1, "USD"), transaction_id="T1", reference="a-1"
            )
        )
    assert seen == ["POST /activations"]
    assert info.value.reference == "a-1"


def test_a_read_follows_redirects_as_the_http_client_says(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A read moves no money: a shared client's redirect policy applies to it."""
    handler, seen = _redirecting("https://fakepsp.test/moved")
    with (
        httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as http,
        registry.client("fakepsp", settings, http_client=http) as client,
    ):
        start = client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert seen == ["POST /deposits", "POST /moved"]
    assert start.payment_details is not None


async def test_async_payout_is_never_sent_twice_on_a_redirect(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client does not follow a payout's redirect either."""
    handler, seen = _redirecting("https://fakepsp.test/again")
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as http,
        registry.async_client("fakepsp", settings, http_client=http) as client,
    ):
        with pytest.raises(UnknownOutcomeError):
            await client.create_withdrawal(_withdrawal())
    assert seen == ["POST /withdrawals"]


# -- options checked at construction, naming the option -----------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": "5"}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"retry": 3}, "retry"),
        ({"http_client": httpx.AsyncClient()}, "http_client"),
        ({"transport": httpx.AsyncHTTPTransport()}, "transport"),
        ({"http_client": httpx.Client(), "timeout": 5}, "timeout"),
        ({"timout": 5}, "timout"),
        ({"hooks": None}, "hooks"),
    ],
)
def test_bad_client_options_are_refused_at_construction(
    registry: payplane.Registry, settings: dict[str, object], options: dict[str, Any], field: str
) -> None:
    """A wrong option fails when the client is made, naming it, not at the first call."""
    with pytest.raises(ConfigurationError) as info:
        payplane.client("fakepsp", settings, registry=registry, **options)
    assert info.value.field == field
    assert field in str(info.value)


async def test_bad_async_client_options_are_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client checks its options too: a sync httpx client is refused."""
    with httpx.Client() as sync, pytest.raises(ConfigurationError) as info:
        payplane.async_client("fakepsp", settings, registry=registry, http_client=sync)
    assert info.value.field == "http_client"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": "3"}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"wait_initial": -0.1}, "wait_initial"),
        ({"wait_max": float("inf")}, "wait_max"),
        ({"wait_jitter": None}, "wait_jitter"),
    ],
)
def test_bad_retry_policy_is_refused(changes: dict[str, Any], field: str) -> None:
    """RetryPolicy checks its fields, naming the field and its limit."""
    with pytest.raises(ValidationError) as info:
        payplane.RetryPolicy(**changes)
    assert info.value.field == field
    assert info.value.limit


def test_good_options_are_accepted(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Numbers and httpx.Timeout are good timeouts; a RetryPolicy a good retry."""
    for timeout in (5, 2.5, httpx.Timeout(3.0)):
        with payplane.client(
            "fakepsp", settings, registry=registry, timeout=timeout, retry=FAST
        ) as client:
            assert not client.is_closed


# -- a closed client says so --------------------------------------------------------------


def test_a_closed_client_raises_client_closed(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """After close() a call that needs an exchange raises ClientClosedError (a RuntimeError)."""
    client = _client(registry, settings, lambda _r: httpx.Response(200, json={"status": "queued"}))
    client.close()
    assert client.is_closed
    with pytest.raises(ClientClosedError) as info:
        client.create_withdrawal(_withdrawal())
    assert isinstance(info.value, RuntimeError)
    assert info.value.operation == "create_withdrawal"
    assert "closed" in str(info.value)


def test_a_closed_shared_http_client_raises_client_closed(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """An httpx client passed in and closed later: ClientClosedError, not httpx's error."""
    http = httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(200)))
    client = registry.client("fakepsp", settings, http_client=http)
    http.close()
    with pytest.raises(ClientClosedError) as info:
        client.start_deposit(DepositRequest(customer_id="u1", currency="USD"))
    assert "http_client" in str(info.value)


def test_an_already_closed_http_client_is_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Passing a closed httpx client fails at once."""
    http = httpx.Client()
    http.close()
    with pytest.raises(ClientClosedError):
        registry.client("fakepsp", settings, http_client=http)


def test_a_closed_client_still_verifies_postbacks(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Verifying a postback needs no exchange: a closed client still does it."""
    client = registry.client("fakepsp", settings)
    client.close()
    body, headers = _postback(
        {"kind": "deposit", "id": "d1", "status": "paid", "amount": "5", "currency": "USD"}
    )
    assert client.verify_postback(body, headers).event_key == "deposit:d1:paid"


async def test_a_closed_async_client_raises_client_closed(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """The async client, owned or shared httpx client alike."""
    client = _async_client(registry, settings, lambda _r: httpx.Response(200))
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.create_withdrawal(_withdrawal())
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(200)))
    shared = registry.async_client("fakepsp", settings, http_client=http)
    await http.aclose()
    with pytest.raises(ClientClosedError):
        await shared.start_deposit(DepositRequest(customer_id="u1", currency="USD"))


# -- postback header names in any case ----------------------------------------------------


@pytest.mark.parametrize("name", ["X-Signature", "x-signature", "X-SIGNATURE", "x-SiGnAtUrE"])
def test_postback_header_names_in_any_case(
    registry: payplane.Registry, settings: dict[str, object], name: str
) -> None:
    """Flask and Django give X-Signature, ASGI x-signature: the provider sees one name."""
    body, headers = _postback(
        {"kind": "deposit", "id": "d1", "status": "paid", "amount": "5", "currency": "USD"}
    )
    with registry.client("fakepsp", settings) as client:
        event = client.verify_postback(body, {name: headers["X-Signature"]})
    assert event.event_key == "deposit:d1:paid"


def test_postback_header_given_twice_in_two_cases_is_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Two signatures under one name in two cases are joined, and no longer verify."""
    body, headers = _postback(
        {"kind": "deposit", "id": "d1", "status": "paid", "amount": "5", "currency": "USD"}
    )
    given = {"X-Signature": headers["X-Signature"], "x-signature": "forged"}
    with registry.client("fakepsp", settings) as client, pytest.raises(SignatureError):
        client.verify_postback(body, given)


def test_postback_headers_that_are_not_text_are_refused(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Raw ASGI bytes headers are refused with a clear error naming the header."""
    body, _headers = _postback({"kind": "deposit"})
    with registry.client("fakepsp", settings) as client, pytest.raises(ValidationError) as info:
        client.verify_postback(body, {"x-signature": b"abc"})  # type: ignore[dict-item]
    assert info.value.field == "headers"
    assert "'x-signature'" in info.value.message


# -- a real exchange: httpcore's child loggers -----------------------------------------------


class _Redirecting(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.startswith("/deposits"):
            self.send_response(307)
            self.send_header("Location", f"/final?secret={API_KEY}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"account": "A"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    """A local HTTP server redirecting /deposits to a URL holding the API key."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_httpcore_records_of_a_redirect_show_no_secret(
    registry: payplane.Registry, settings: dict[str, object], redirecting_server: str
) -> None:
    """httpcore.http11 logs the Location holding the key at DEBUG: the record is redacted."""
    values = settings | {"base_url": redirecting_server}
    with (
        captured_log_records() as records,
        httpx.Client(follow_redirects=True, trust_env=False) as http_client,
        registry.client("fakepsp", values, http_client=http_client) as client,
    ):
        start = client.start_deposit(
            DepositRequest(customer_id="u1", currency="USD", hosted_page=False)
        )
    assert start.payment_details is not None
    names = {record.name for record in records}
    assert "httpcore.http11" in names
    texts = [text for record in records for text in log_record_texts(record)]
    assert any("secret=***" in text for text in texts)
    assert not any(API_KEY in text or quote(API_KEY) in text for text in texts)
