"""Activation: the request and the five answers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from payplane import ActivationOutcome, ActivationRequest, HttpResponse, Money
from payplane.exceptions import IntegrityError, MalformedPayloadError, ValidationError
from payplane_paykassma_wavepay import WavepayProvider

REQUEST = ActivationRequest(
    customer_id="55",
    amount=Money("6000", "MMK"),
    transaction_id="1394646476",
    reference="123465477897",
)


def answer(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status_code=status, content=json.dumps(data).encode())


def test_request_matches_seed(kit: Any, provider: WavepayProvider) -> None:
    """The body is the seed's example; the secret rides in the query."""
    http = provider.build_activation(REQUEST)
    assert json.loads(http.content) == kit.load("seed_activation_request")
    assert http.url == (
        f"https://api.example.com/api/v1/transaction/activate?secret={kit.pluginapi_secret}"
    )
    assert http.moves_money is True
    assert http.replay_safe is False
    assert http.reference == "123465477897"


def test_amount_is_json_integer(provider: WavepayProvider) -> None:
    """A whole Decimal amount goes as a JSON integer."""
    request = ActivationRequest(
        customer_id="55", amount=Money("6000.00", "MMK"), transaction_id="1", reference="r"
    )
    assert b'"amount":6000,' in provider.build_activation(request).content


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Money("6000.50", "MMK")}, "amount"),
        ({"amount": Money("10", "USD")}, "amount.currency"),
        ({"transaction_id": "123456789012"}, "transaction_id"),
        ({"customer_id": "x" * 191}, "customer_id"),
        ({"reference": "r" * 191}, "reference"),
    ],
)
def test_validation(provider: WavepayProvider, changes: dict[str, Any], field: str) -> None:
    """Limits are checked before sending."""
    values: dict[str, Any] = {
        "customer_id": "55",
        "amount": Money("6000", "MMK"),
        "transaction_id": "1394646476",
        "reference": "ref",
    } | changes
    with pytest.raises(ValidationError) as info:
        provider.build_activation(ActivationRequest(**values))
    assert info.value.field == field
    assert info.value.limit


def test_credited(kit: Any, provider: WavepayProvider) -> None:
    """ok + deposit true: credited with the exact amount."""
    result = provider.parse_activation(REQUEST, answer(kit.load("seed_activation_credited")))
    assert result.outcome.status is ActivationOutcome.CREDITED
    assert result.outcome.raw == "ok"
    assert result.credited == Money("6000", "MMK")
    assert result.reference == "123465477897"


def test_below_minimum(kit: Any, provider: WavepayProvider) -> None:
    """ok + deposit false: below the minimum, with every sum exact."""
    data = kit.load("seed_activation_below_minimum")
    result = provider.parse_activation(REQUEST, answer(data))
    assert result.outcome.status is ActivationOutcome.BELOW_MINIMUM
    assert result.transactions_sum == Money("1000", "MMK")
    assert result.accumulated == Money("1000", "MMK")
    assert result.missing == Money("5000", "MMK")
    assert result.minimum == Money("6000", "MMK")
    assert result.credited is None


@pytest.mark.parametrize(
    ("name", "outcome", "raw"),
    [
        ("seed_activation_pending", ActivationOutcome.PENDING, "pending"),
        (
            "seed_activation_under_review",
            ActivationOutcome.UNDER_REVIEW,
            "possible_transaction_created",
        ),
        ("seed_activation_fail", ActivationOutcome.REJECTED, "fail"),
    ],
)
def test_other_outcomes(
    kit: Any, provider: WavepayProvider, name: str, outcome: ActivationOutcome, raw: str
) -> None:
    """pending, possible_transaction_created and fail are outcomes with their message."""
    data = kit.load(name)
    result = provider.parse_activation(REQUEST, answer(data))
    assert result.outcome.status is outcome
    assert result.outcome.raw == raw
    assert result.message == data["message"]


def test_five_answers_five_outcomes(kit: Any, provider: WavepayProvider) -> None:
    """The five seed answers map to five distinct outcomes."""
    names = [
        "seed_activation_credited",
        "seed_activation_below_minimum",
        "seed_activation_pending",
        "seed_activation_under_review",
        "seed_activation_fail",
    ]
    outcomes = {
        provider.parse_activation(REQUEST, answer(kit.load(name))).outcome.status for name in names
    }
    assert len(outcomes) == 5


def test_fractional_amount_exact(provider: WavepayProvider) -> None:
    """A fractional credited amount stays exact."""
    content = b'{"status":"ok","deposit":true,"deposit_amount":6000.10}'
    result = provider.parse_activation(REQUEST, HttpResponse(status_code=200, content=content))
    assert result.credited == Money(Decimal("6000.10"), "MMK")


@pytest.mark.parametrize(
    "content",
    [
        b'{"status":"ok"}',
        b'{"status":"ok","deposit":"yes"}',
        b'{"status":"ok","deposit":true}',
        b'{"status":"weird"}',
        b'{"status":"ok","deposit":true,"deposit_amount":NaN}',
        b"<html>502</html>",
        b"",
    ],
)
def test_unclassifiable(provider: WavepayProvider, content: bytes) -> None:
    """Anything else is malformed (the client makes it an unknown outcome)."""
    with pytest.raises(MalformedPayloadError):
        provider.parse_activation(REQUEST, HttpResponse(status_code=200, content=content))


def test_server_error_unclassifiable(kit: Any, provider: WavepayProvider) -> None:
    """A 5xx is never classified, whatever its body says."""
    with pytest.raises(MalformedPayloadError):
        provider.parse_activation(REQUEST, answer(kit.load("seed_activation_fail"), 500))


def test_currency_mismatch(provider: WavepayProvider) -> None:
    """An answer in another currency contradicts the request."""
    content = b'{"status":"ok","deposit":true,"deposit_amount":6000,"currency":{"code":"USD"}}'
    with pytest.raises(IntegrityError):
        provider.parse_activation(REQUEST, HttpResponse(status_code=200, content=content))
