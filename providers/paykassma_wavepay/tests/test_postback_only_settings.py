"""Postback-only settings: the two postback keys suffice; operations name what they lack."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import payplane
from payplane import ActivationRequest, DepositRequest, Money, PostbackEvent, WithdrawalRequest
from payplane.exceptions import ConfigurationError
from payplane_paykassma_wavepay import WavepaySettings
from payplane_paykassma_wavepay._settings import NEEDED_FOR

POSTBACK_ONLY = ("postback_access_key", "postback_private_key")

DEPOSIT = {
    "wallet_type": "wavepay",
    "amount": 6000,
    "currency_code": "MMK",
    "label": "55",
    "direction": "ingoing",
    "created_datetime": "2023-08-01 13:37:42",
    "additional_data": [
        {
            "activated_datetime": "2023-08-01 16:37:40",
            "amount": "6000",
            "currency_code": "MMK",
            "transaction_id": "5750E9FBB3",
            "plugin_custom_order_id": None,
        }
    ],
}


def _refuse_every_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent, but {request.method} {request.url.path} was")


def _client(kit: Any, **values: object) -> payplane.Client:
    return payplane.client(
        "paykassma_wavepay", values, transport=httpx.MockTransport(_refuse_every_request)
    )


def _postback_keys(kit: Any) -> dict[str, str]:
    return {"postback_access_key": kit.access_key, "postback_private_key": kit.private_key}


def test_postback_keys_alone_make_settings(kit: Any) -> None:
    """The two postback keys are the only required settings; the rest default to None."""
    settings = WavepaySettings(
        postback_access_key=kit.access_key, postback_private_key=kit.private_key
    )
    assert [settings.api_host, settings.plugin_host] == [None, None]
    assert [settings.pluginapi_secret, settings.withdrawal_private_key] == [None, None]


def test_postback_keys_verify_a_postback(kit: Any) -> None:
    """A client built from the postback keys alone verifies a signed postback."""
    body = kit.signed_body(DEPOSIT)
    with _client(kit, **_postback_keys(kit)) as client:
        event = client.verify_postback(body)
    assert isinstance(event, PostbackEvent)
    assert (event.event_key, event.amount) == ("ingoing:5750E9FBB3", Money(6000, "MMK"))


def test_postback_keys_serve_an_inbox(kit: Any) -> None:
    """An inbox accepts, records and applies postbacks with the postback keys alone."""
    applied: list[str] = []
    inbox = payplane.Inbox(
        payplane.MemoryStore(),
        lambda event, _tx: applied.append(event.event_key),
        providers={"paykassma_wavepay": _postback_keys(kit)},
    )
    answer = inbox.receive("paykassma_wavepay", kit.signed_body(DEPOSIT))
    assert (answer.status_code, json.loads(answer.content)) == (200, {"status": "ok"})
    assert applied == ["ingoing:5750E9FBB3"]


@pytest.mark.parametrize("missing", POSTBACK_ONLY)
def test_postback_keys_stay_required(kit: Any, missing: str) -> None:
    """Without a postback key the settings are refused at once, naming it."""
    values = _postback_keys(kit)
    del values[missing]
    with pytest.raises(ConfigurationError, match=missing) as caught:
        _client(kit, **values)
    assert caught.value.field == missing


def _operations() -> list[tuple[str, Any]]:
    deposit = DepositRequest(customer_id="55", currency="MMK", hosted_page=False)
    page = DepositRequest(customer_id="55", currency="MMK", payment_details=False)
    activation = ActivationRequest(
        customer_id="55", amount=Money(6000, "MMK"), transaction_id="1234567890"
    )
    withdrawal = WithdrawalRequest(
        customer_id="55",
        amount=Money(1000, "MMK"),
        account_number="09123456789",
        account_email="user@example.com",
    )
    return [
        ("start_deposit (wallet details)", lambda c: c.start_deposit(deposit)),
        ("start_deposit (hosted page)", lambda c: c.start_deposit(page)),
        ("activate_deposit", lambda c: c.activate_deposit(activation)),
        ("create_withdrawal", lambda c: c.create_withdrawal(withdrawal)),
    ]


@pytest.mark.parametrize(
    ("operation", "call", "missing"),
    [
        (operation, call, name)
        for operation, call in _operations()
        for name, needed_by in NEEDED_FOR.items()
        if operation in needed_by
    ],
)
def test_operation_names_the_setting_it_lacks(
    kit: Any, operation: str, call: Any, missing: str
) -> None:
    """Each operation refuses to start without a setting it needs, naming it; nothing is sent."""
    values = kit.settings_values()
    del values[missing]
    with _client(kit, **values) as client, pytest.raises(ConfigurationError) as caught:
        call(client)
    assert caught.value.field == missing
    assert f"{operation} needs the setting {missing!r}" in caught.value.message
    assert caught.value.provider == "paykassma_wavepay"


def test_every_optional_setting_is_needed_by_some_operation() -> None:
    """NEEDED_FOR names only real operations, and each optional setting has one."""
    operations = {operation for operation, _ in _operations()}
    assert all(set(needed_by) <= operations and needed_by for needed_by in NEEDED_FOR.values())


def test_hosted_page_is_checked_before_wallet_details_are_fetched(kit: Any) -> None:
    """Asking for both without plugin_host fails before the wallet-details request leaves."""
    values = kit.settings_values()
    del values["plugin_host"]
    with _client(kit, **values) as client, pytest.raises(ConfigurationError) as caught:
        client.start_deposit(DepositRequest(customer_id="55", currency="MMK"))
    assert caught.value.field == "plugin_host"
