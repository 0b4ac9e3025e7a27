"""Through payplane's registry and client, over httpx.MockTransport (no network)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    PostbackEvent,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import (
    InsufficientFundsError,
    IntegrityError,
    SignatureError,
    UnknownOutcomeError,
)

Handler = Callable[[httpx.Request], httpx.Response]

WITHDRAWAL = WithdrawalRequest(
    customer_id="55",
    amount=Money("6000", "MMK"),
    account_number="01642234663",
    account_email="user@example.com",
    reference="af84c26f-931d-4c28-a30d-7b75e46b7685",
)
ACTIVATION = ActivationRequest(
    customer_id="55", amount=Money("6000", "MMK"), transaction_id="1394646476", reference="act-1"
)


@pytest.fixture
def client(kit: Any) -> Callable[[Handler], payplane.Client]:
    def make(handler: Handler) -> payplane.Client:
        registry = payplane.Registry()
        return registry.client(
            "paykassma_wavepay",
            kit.settings_values(),
            transport=httpx.MockTransport(handler),
            retry=payplane.RetryPolicy(attempts=1),
        )

    return make


def test_deposit(kit: Any, client: Callable[[Handler], payplane.Client]) -> None:
    """The secret goes in the URL; logs and results never show it."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "params": {"identifier": "324342342"}})

    with client(handler) as api:
        start = api.start_deposit(DepositRequest(customer_id="55", currency="MMK"))
    assert start.payment_details is not None
    assert start.payment_details.account == "324342342"
    assert start.hosted_page_url is not None
    assert seen[0].url.params["secret"] == kit.pluginapi_secret
    assert kit.pluginapi_secret not in start.hosted_page_url


def test_secret_not_logged(
    kit: Any, client: Callable[[Handler], payplane.Client], caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logs of an exchange hold no secret."""
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "pending", "message": "wait"})

    with client(handler) as api:
        result = api.activate_deposit(ACTIVATION)
    assert result.outcome.status is ActivationOutcome.PENDING
    assert caplog.records
    for record in caplog.records:
        assert kit.pluginapi_secret not in record.getMessage()


def test_timeout_on_withdrawal(kit: Any, client: Callable[[Handler], payplane.Client]) -> None:
    """A lost answer to a withdrawal is an unknown outcome carrying its reference."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with client(handler) as api, pytest.raises(UnknownOutcomeError) as info:
        api.create_withdrawal(WITHDRAWAL)
    assert info.value.reference == WITHDRAWAL.reference
    assert kit.withdrawal_key not in str(info.value)


def test_timeout_on_activation_hides_secret(
    kit: Any, client: Callable[[Handler], payplane.Client]
) -> None:
    """An activation timeout names the reference and never the secret from the URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        msg = f"timed out on {request.url}"
        raise httpx.ReadTimeout(msg, request=request)

    with client(handler) as api, pytest.raises(UnknownOutcomeError) as info:
        api.activate_deposit(ACTIVATION)
    assert info.value.reference == "act-1"
    assert kit.pluginapi_secret not in str(info.value)


def test_unclassifiable_withdrawal_answer(client: Callable[[Handler], payplane.Client]) -> None:
    """A 502 HTML page after a withdrawal is an unknown outcome."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    with client(handler) as api, pytest.raises(UnknownOutcomeError) as info:
        api.create_withdrawal(WITHDRAWAL)
    assert info.value.reference == WITHDRAWAL.reference


def test_unclassifiable_activation_answer(client: Callable[[Handler], payplane.Client]) -> None:
    """An unknown activation status is an unknown outcome, never a rejection."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "something_new"})

    with client(handler) as api, pytest.raises(UnknownOutcomeError):
        api.activate_deposit(ACTIVATION)


def test_insufficient_funds(kit: Any, client: Callable[[Handler], payplane.Client]) -> None:
    """The seed's insufficient-balance answer is InsufficientFundsError."""
    data = kit.load("seed_withdrawal_answer_insufficient")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=data)

    with client(handler) as api, pytest.raises(InsufficientFundsError) as info:
        api.create_withdrawal(WITHDRAWAL)
    assert info.value.provider == "paykassma_wavepay"
    assert info.value.operation == "create_withdrawal"


def test_currency_mismatch(client: Callable[[Handler], payplane.Client]) -> None:
    """An echo in another currency is an integrity error."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        return httpx.Response(200, json={"status": "ok", **sent, "currency_code": "USD"})

    with client(handler) as api, pytest.raises(IntegrityError):
        api.create_withdrawal(WITHDRAWAL)


def test_withdrawal_accepted(kit: Any, client: Callable[[Handler], payplane.Client]) -> None:
    """An ok answer echoing the signed request is a pending withdrawal."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert "secret" not in request.url.params
        sent = json.loads(request.content)
        return httpx.Response(200, json={"status": "ok", **sent})

    with client(handler) as api:
        result = api.create_withdrawal(WITHDRAWAL)
    assert result.status.status is WithdrawalStatus.PENDING
    assert result.reference == WITHDRAWAL.reference


def test_rejected_signature(client: Callable[[Handler], payplane.Client]) -> None:
    """Paykassma refusing our signature is a SignatureError."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"status": "fail", "message": "Withdrawal signature is invalid"}
        )

    with client(handler) as api, pytest.raises(SignatureError):
        api.create_withdrawal(WITHDRAWAL)


def test_postback_through_client(kit: Any, client: Callable[[Handler], payplane.Client]) -> None:
    """The client's verify_postback reaches the provider."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError

    body = kit.signed_body(kit.load("seed_postback_deposit"))
    with client(handler) as api:
        event = api.verify_postback(body)
    # The signed transactions' sum (100 + 6000); the unsigned top-level amount says 6000.
    assert isinstance(event, PostbackEvent)
    assert event.amount == Money("6100", "MMK")


async def test_async_client(kit: Any) -> None:
    """The async client runs the same provider."""

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=kit.load("seed_activation_credited"))

    registry = payplane.Registry()
    async with registry.async_client(
        "paykassma_wavepay",
        kit.settings_values(),
        transport=httpx.MockTransport(handler),
        retry=payplane.RetryPolicy(attempts=1),
    ) as api:
        result = await api.activate_deposit(ACTIVATION)
    assert result.credited == Money("6000", "MMK")
