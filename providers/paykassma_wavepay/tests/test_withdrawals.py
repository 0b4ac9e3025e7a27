"""Withdrawals: the signed request and the answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payplane import HttpResponse, Money, WithdrawalRequest, WithdrawalStatus
from payplane.exceptions import (
    InsufficientFundsError,
    IntegrityError,
    MalformedPayloadError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)
from payplane_paykassma_wavepay import WavepayProvider, withdrawal_signature

REQUEST = WithdrawalRequest(
    customer_id="c81594cc-e4b1-4ed5-914c-3817f2ccf13a",
    amount=Money("6000", "MMK"),
    account_number="01642234663",
    account_email="user@example.com",
    reference="af84c26f-931d-4c28-a30d-7b75e46b7685",
    test=True,
)


def answer(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status_code=status, content=json.dumps(data).encode())


def test_request_matches_vector(kit: Any, vectors: dict[str, Any]) -> None:
    """With the vector's key, the provider sends the vector's fields and signature."""
    vector = vectors["withdrawal_request"][0]
    provider = kit.provider(withdrawal_private_key=vector["private_key"])
    body = json.loads(provider.build_withdrawal(REQUEST).content)
    assert body == {**vector["fields"], "signature": vector["signature"]}


def test_request(kit: Any, provider: WavepayProvider) -> None:
    """POST v2/withdrawal/create, no secret in the URL, fields as the seed, signed."""
    http = provider.build_withdrawal(REQUEST)
    assert http.url == "https://api.example.com/v2/withdrawal/create"
    body = json.loads(http.content)
    seed = kit.load("seed_withdrawal_request")
    assert set(body) == set(seed)
    expected = {**seed, "account_email": "user@example.com"}
    expected["signature"] = withdrawal_signature(expected, kit.withdrawal_key)
    assert body == expected
    assert http.moves_money is True
    assert http.replay_safe is False
    assert http.reference == REQUEST.reference


def test_comment_is_signed(kit: Any, provider: WavepayProvider) -> None:
    """An optional comment is sent and takes part in the signature."""
    request = WithdrawalRequest(
        customer_id="55",
        amount=Money("6000", "MMK"),
        account_number="0164223466",
        account_email="a@b.co",
        reference="w-1",
        comment="refund/ငွေထုတ်",
    )
    body = json.loads(provider.build_withdrawal(request).content)
    assert body["comment"] == "refund/ငွေထုတ်"
    assert body["is_test"] is False
    assert body["signature"] == withdrawal_signature(body, kit.withdrawal_key)


@pytest.mark.parametrize(
    ("changes", "field", "limit"),
    [
        ({"reference": "x" * 37}, "reference", "1-36 characters"),
        ({"customer_id": "x" * 37}, "customer_id", "1-36 characters"),
        ({"account_number": "123456789"}, "account_number", "10-11 digits"),
        ({"account_number": "123456789012"}, "account_number", "10-11 digits"),
        ({"account_number": "01642234\uff1663"}, "account_number", "10-11 digits"),
        ({"account_email": None}, "account_email", "required"),
        ({"account_email": "not-an-email"}, "account_email", "email"),
        ({"amount": Money("6000.5", "MMK")}, "amount", "whole MMK"),
        ({"amount": Money("10", "USD")}, "amount.currency", "MMK"),
        ({"extra": {"bank_code": "1"}}, "extra", "none"),
    ],
)
def test_validation(
    provider: WavepayProvider, changes: dict[str, Any], field: str, limit: str
) -> None:
    """Each limit is checked before sending, naming field and limit."""
    values: dict[str, Any] = {
        "customer_id": "55",
        "amount": Money("6000", "MMK"),
        "account_number": "01642234663",
        "account_email": "user@example.com",
        "reference": "w-1",
    } | changes
    with pytest.raises(ValidationError) as info:
        provider.build_withdrawal(WithdrawalRequest(**values))
    assert info.value.field == field
    assert info.value.limit == limit


def test_ok_is_pending(provider: WavepayProvider) -> None:
    """{"status":"ok"} means accepted: pending, raw "ok"."""
    result = provider.parse_withdrawal(REQUEST, answer({"status": "ok"}))
    assert result.status.status is WithdrawalStatus.PENDING
    assert result.status.raw == "ok"
    assert result.amount == Money("6000", "MMK")
    assert result.reference == REQUEST.reference


def test_seed_echo_is_pending(kit: Any, provider: WavepayProvider) -> None:
    """The seed's success answer (the request echoed) is accepted."""
    result = provider.parse_withdrawal(REQUEST, answer(kit.load("seed_withdrawal_answer_ok")))
    assert result.status.status is WithdrawalStatus.PENDING


@pytest.mark.parametrize(
    "echo",
    [
        {"currency_code": "USD"},
        {"amount": 6001},
        {"withdrawal_id": "other"},
    ],
)
def test_echo_mismatch(provider: WavepayProvider, echo: dict[str, Any]) -> None:
    """An echo that contradicts the request is an integrity error."""
    data = {"status": "ok", "amount": 6000, "currency_code": "MMK", **echo}
    with pytest.raises(IntegrityError):
        provider.parse_withdrawal(REQUEST, answer(data))


def test_declined(kit: Any, provider: WavepayProvider) -> None:
    """A fail with a message is a decline carrying the message."""
    with pytest.raises(ProviderDeclinedError) as info:
        provider.parse_withdrawal(REQUEST, answer(kit.load("seed_withdrawal_answer_fail")))
    assert info.value.provider_message == "MESSAGE"
    assert not isinstance(info.value, InsufficientFundsError)


def test_declined_per_field(provider: WavepayProvider) -> None:
    """A per-field message map is kept as field errors."""
    data = {"status": "fail", "message": {"account_number": ["bad", "worse"]}}
    with pytest.raises(ProviderDeclinedError) as info:
        provider.parse_withdrawal(REQUEST, answer(data, 422))
    assert info.value.field_errors == {"account_number": ("bad", "worse")}


def test_insufficient_map(kit: Any, provider: WavepayProvider) -> None:
    """The seed's per-field "Insufficient balance" is InsufficientFundsError."""
    data = kit.load("seed_withdrawal_answer_insufficient")
    with pytest.raises(InsufficientFundsError) as info:
        provider.parse_withdrawal(REQUEST, answer(data))
    assert info.value.field_errors == {"withdrawals_sum_amount": ("Insufficient balance",)}


def test_insufficient_string(provider: WavepayProvider) -> None:
    """So is a plain "Insufficient balance" message."""
    with pytest.raises(InsufficientFundsError):
        provider.parse_withdrawal(
            REQUEST, answer({"status": "fail", "message": "Insufficient balance"})
        )


def test_bad_signature(provider: WavepayProvider) -> None:
    """A rejected signature points at the withdrawal private key."""
    data = {"status": "fail", "message": "Withdrawal signature is invalid"}
    with pytest.raises(SignatureError, match="withdrawal_private_key"):
        provider.parse_withdrawal(REQUEST, answer(data))


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (200, b"not json"),
        (200, b'{"status":"queued"}'),
        (200, b"{}"),
        (200, b'"ok"'),
        (502, b"<html>Bad gateway</html>"),
        (500, b'{"status":"ok"}'),
    ],
)
def test_unclassifiable(provider: WavepayProvider, status: int, content: bytes) -> None:
    """Everything else is malformed (the client makes it an unknown outcome)."""
    with pytest.raises(MalformedPayloadError):
        provider.parse_withdrawal(REQUEST, HttpResponse(status_code=status, content=content))
