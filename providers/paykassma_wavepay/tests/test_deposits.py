"""Deposits: wallet details and the hosted payment window."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from payplane import DepositRequest, HttpResponse, Money, PaymentDetails
from payplane.exceptions import MalformedPayloadError, ProviderDeclinedError, ValidationError
from payplane_paykassma_wavepay import WavepayProvider


def answer(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status_code=status, content=json.dumps(data).encode())


def test_wallet_details_request(kit: Any, provider: WavepayProvider) -> None:
    """POST create/wavepay with the secret in the query and the seed's JSON body."""
    request = DepositRequest(customer_id="eligendi", currency="MMK")
    http = provider.build_deposit(request)
    assert http is not None
    assert http.method == "POST"
    assert http.url == (
        f"https://api.example.com/api/v1/transaction/create/wavepay?secret={kit.pluginapi_secret}"
    )
    assert json.loads(http.content) == kit.load("seed_deposit_request")
    assert http.replay_safe is True
    assert http.moves_money is False


def test_no_details_no_request(provider: WavepayProvider) -> None:
    """Only a hosted page asked for: nothing to send."""
    request = DepositRequest(customer_id="55", currency="MMK", payment_details=False)
    assert provider.build_deposit(request) is None


def test_wallet_details_answer(kit: Any, provider: WavepayProvider) -> None:
    """The seed's ok answer gives the wallet identifier to pay to."""
    request = DepositRequest(customer_id="eligendi", currency="MMK", hosted_page=False)
    start = provider.parse_deposit(request, answer(kit.load("seed_deposit_answer_ok")))
    assert start.payment_details == PaymentDetails(
        method="wavepay", account="324342342", currency="MMK"
    )
    assert start.hosted_page_url is None
    assert start.provider == "paykassma_wavepay"


def test_wallet_details_fail(kit: Any, provider: WavepayProvider) -> None:
    """The seed's fail answer is a decline with the provider's message."""
    request = DepositRequest(customer_id="eligendi", currency="MMK")
    with pytest.raises(ProviderDeclinedError) as info:
        provider.parse_deposit(request, answer(kit.load("seed_deposit_answer_fail")))
    assert info.value.provider_message == "MESSAGE"


@pytest.mark.parametrize(
    "content", [b"<html>oops</html>", b"[]", b'{"status":"ok"}', b'{"status":"maybe"}']
)
def test_wallet_details_malformed(provider: WavepayProvider, content: bytes) -> None:
    """Anything else is malformed."""
    request = DepositRequest(customer_id="eligendi", currency="MMK")
    with pytest.raises(MalformedPayloadError):
        provider.parse_deposit(request, HttpResponse(status_code=200, content=content))


def test_404_hints_at_secret(provider: WavepayProvider) -> None:
    """A 404 page says the secret may be wrong."""
    request = DepositRequest(customer_id="eligendi", currency="MMK")
    with pytest.raises(MalformedPayloadError, match="pluginapi_secret"):
        provider.parse_deposit(request, HttpResponse(status_code=404, content=b"Not Found"))


def test_hosted_page_url_every_parameter(provider: WavepayProvider) -> None:
    """The window URL carries every parameter, URL-encoded."""
    request = DepositRequest(
        customer_id="user 55",
        currency="MMK",
        amount=Money("6000.00", "MMK"),
        reference="order-1",
        language="my",
        payment_details=False,
        success_url="https://shop.example/ok?a=1&b=2",
        fail_url="https://shop.example/fail",
        pending_url="https://shop.example/wait",
        extra={
            "payment_url_success_id": "11",
            "payment_url_fail_id": "12",
            "payment_url_pending_id": "13",
        },
    )
    start = provider.parse_deposit(request, None)
    assert start.hosted_page_url is not None
    parts = urlsplit(start.hosted_page_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://plugin.example.com/"
    assert dict(parse_qsl(parts.query)) == {
        "label": "user 55",
        "wallet_type": "wavepay",
        "currency_code": "MMK",
        "lang": "my",
        "custom_transaction_id": "order-1",
        "fixed_amount": "6000",
        "payment_url_success_id": "11",
        "payment_url_fail_id": "12",
        "payment_url_pending_id": "13",
        "success_url": "https://shop.example/ok?a=1&b=2",
        "fail_url": "https://shop.example/fail",
        "pending_url": "https://shop.example/wait",
    }


def test_hosted_page_default_language(provider: WavepayProvider) -> None:
    """Without a language the settings' default is used; optional parameters stay out."""
    request = DepositRequest(customer_id="55", currency="MMK", payment_details=False)
    url = provider.hosted_page_url(request)
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "label": "55",
        "wallet_type": "wavepay",
        "currency_code": "MMK",
        "lang": "en",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"amount": Money("6000.5", "MMK")}, "amount"),
        ({"customer_id": "x" * 191}, "customer_id"),
        ({"reference": "r" * 191}, "reference"),
        ({"currency": "USD"}, "currency"),
        ({"extra": {"fixed_amount": "1"}}, "extra"),
    ],
)
def test_deposit_validation(provider: WavepayProvider, changes: dict[str, Any], field: str) -> None:
    """Limits are checked before anything is sent, naming field and limit."""
    values: dict[str, Any] = {"customer_id": "55", "currency": "MMK"} | changes
    request = DepositRequest(**values)
    with pytest.raises(ValidationError) as info:
        provider.build_deposit(request)
    assert info.value.field == field
    assert info.value.limit


def test_label_limit_inclusive(provider: WavepayProvider) -> None:
    """190 characters are fine."""
    request = DepositRequest(customer_id="x" * 190, currency="MMK", reference="r" * 190)
    assert provider.build_deposit(request) is not None
