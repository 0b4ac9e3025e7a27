"""Postbacks: verification, parsing, events, answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

import payplane
from payplane import (
    DepositStatus,
    Money,
    PostbackKind,
    WithdrawalStatus,
)
from payplane.exceptions import (
    MalformedPayloadError,
    PayloadTooLargeError,
    SignatureError,
)
from payplane_paykassma_wavepay import WavepayProvider, postback_signature
from payplane_paykassma_wavepay._rawjson import scan_object

PLUS8 = timezone(timedelta(hours=8))


@pytest.fixture
def deposit(kit: Any) -> dict[str, Any]:
    data: dict[str, Any] = kit.load("seed_postback_deposit")
    return data


@pytest.fixture
def withdrawal(kit: Any) -> dict[str, Any]:
    data: dict[str, Any] = kit.load("seed_postback_withdrawal")
    return data


def test_seed_deposit_matches_vector(kit: Any, vectors: dict[str, Any], deposit: Any) -> None:
    """The seed's deposit postback, re-signed PHP-style, is the vector's body."""
    assert kit.signed_body(deposit).decode() == vectors["postback"][0]["body"]


def test_seed_withdrawal_matches_vector(kit: Any, vectors: dict[str, Any], withdrawal: Any) -> None:
    """The seed's withdrawal postback, re-signed PHP-style, is the vector's body."""
    assert kit.signed_body(withdrawal).decode() == vectors["postback"][1]["body"]


def test_seed_deposit_event(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """The seed's deposit postback parses with exact amounts and aware datetimes.

    Its amount is the signed transactions' sum, 100 + 6000: the seed's unsigned top-level
    amount says 6000, the amount of one of them, which is accepted but not used.
    """
    event = provider.verify_postback(kit.signed_body(deposit), {})
    assert event.kind is PostbackKind.DEPOSIT
    assert event.status.status is DepositStatus.SUCCEEDED
    assert event.status.raw == "ingoing"
    assert event.amount == Money("6100", "MMK")
    assert event.raw["amount"] == 6000
    assert event.unsigned == {"customer_id", "occurred_at"}
    assert event.customer_id == "7848747947846"
    assert event.occurred_at == datetime(2023, 8, 1, 13, 37, 42, tzinfo=PLUS8)
    assert event.occurred_at is not None
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert event.event_key == "ingoing:5750E9FBB3,CD0C06E08D"
    assert [t.transaction_id for t in event.transactions] == ["CD0C06E08D", "5750E9FBB3"]
    assert [t.amount for t in event.transactions] == [Money("100", "MMK"), Money("6000", "MMK")]
    assert event.transactions[0].occurred_at == datetime(2023, 8, 1, 16, 37, 16, tzinfo=PLUS8)
    assert event.transactions[0].raw["stockpiling_id"] == 963


def test_seed_withdrawal_event(kit: Any, provider: WavepayProvider, withdrawal: Any) -> None:
    """The seed's withdrawal postback is a succeeded withdrawal, raw code 1."""
    event = provider.verify_postback(kit.signed_body(withdrawal), {})
    assert event.kind is PostbackKind.WITHDRAWAL
    assert event.status.status is WithdrawalStatus.SUCCEEDED
    assert event.status.raw == 1
    assert event.reference == "10319"
    assert event.unsigned == {"customer_id", "occurred_at"}
    assert event.amount == Money("20000", "MMK")
    assert event.event_key == "outgoing:10319:1"
    [transaction] = event.transactions
    assert transaction.status is not None
    assert transaction.status.status is WithdrawalStatus.SUCCEEDED
    assert transaction.occurred_at is None  # "" is no datetime
    assert transaction.transaction_id is None


def test_the_client_redacts_an_event_without_reading_its_converted_amounts(
    kit: Any, deposit: Any
) -> None:
    """Client.verify_postback scrubs the event (a label echoing the access key becomes
    ***) but leaves the map of ~180 converted amounts unread: codes and numbers only."""
    echoing = {**deposit, "label": kit.access_key}
    with payplane.client("paykassma_wavepay", kit.settings_values()) as client:
        event = client.verify_postback(kit.signed_body(echoing), {})
    assert isinstance(event, payplane.PostbackEvent)
    assert event.raw["label"] == "***"
    converted = event.raw["converted_amount"]
    assert type(converted).__payplane_holds_no_text__ is True
    assert converted._cache is None
    assert converted["USD"] == Money("4.61", "USD")


def test_converted_amounts_exact(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """converted_amount is a map of code to exact Money, crypto codes included."""
    event = provider.verify_postback(kit.signed_body(deposit), {})
    converted = event.raw["converted_amount"]
    assert len(converted) == len(deposit["converted_amount"])
    assert converted["USD"] == Money("4.61", "USD")
    assert converted["BTC"] == Money(Decimal("0.00015943"), "BTC")
    assert converted["USDTTRC20"] == Money("0", "USDTTRC20")
    assert converted["INR"] == Money("380", "INR")
    assert converted["USD"].amount.as_tuple().exponent == -2
    assert "XYZ" not in converted


def test_raw_keeps_unknown_drops_secrets(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """Unknown members stay in raw; access_key and signature never do."""
    body = kit.signed_body({**deposit, "brand_new": {"x": 1.5}})
    event = provider.verify_postback(body, {})
    assert event.raw["brand_new"] == {"x": Decimal("1.5")}
    assert "access_key" not in event.raw
    assert "signature" not in event.raw
    assert kit.access_key not in repr(event)


def test_repeat_gives_same_key(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """A re-delivery, even re-serialised differently, has the same event key."""
    first = provider.verify_postback(kit.signed_body(deposit), {})
    pretty = json.dumps(deposit["additional_data"], indent=1)
    body = dict(deposit)
    body["access_key"] = kit.access_key
    body["signature"] = postback_signature(kit.access_key, kit.private_key, pretty)
    text = json.dumps(body).replace(json.dumps(deposit["additional_data"]), pretty)
    second = provider.verify_postback(text.encode(), {})
    assert first.event_key == second.event_key


def test_status_change_is_new_event(kit: Any, provider: WavepayProvider, withdrawal: Any) -> None:
    """A withdrawal's status change has a new key."""
    pending = json.loads(json.dumps(withdrawal))
    pending["additional_data"][0]["withdrawal_status"] = 3
    first = provider.verify_postback(kit.signed_body(pending), {})
    second = provider.verify_postback(kit.signed_body(withdrawal), {})
    assert first.status.status is WithdrawalStatus.UNKNOWN
    assert first.status.raw == 3
    assert first.event_key == "outgoing:10319:3"
    assert first.event_key != second.event_key


@pytest.mark.parametrize(
    ("code", "status"), [(5, WithdrawalStatus.FAILED), ("1", WithdrawalStatus.SUCCEEDED)]
)
def test_withdrawal_codes(
    kit: Any, provider: WavepayProvider, withdrawal: Any, code: object, status: WithdrawalStatus
) -> None:
    """5 is failed; "1" is the same code as 1."""
    changed = json.loads(json.dumps(withdrawal))
    changed["additional_data"][0]["withdrawal_status"] = code
    event = provider.verify_postback(kit.signed_body(changed), {})
    assert event.status.status is status


def test_legacy(kit: Any, vectors: dict[str, Any]) -> None:
    """The legacy vector is a deposit keyed on its signed transaction ids."""
    vector = vectors["postback"][4]
    provider = kit.provider(
        postback_access_key=vector["access_key"], postback_private_key=vector["private_key"]
    )
    event = provider.verify_postback(vector["body"].encode(), {})
    assert event.kind is PostbackKind.DEPOSIT
    assert event.status.status is DepositStatus.SUCCEEDED
    assert event.event_key == "ingoing:A1B2C3D4E5"
    assert event.amount == Money("6000", "MMK")
    assert event.customer_id == "77"
    assert event.unsigned == {"customer_id"}
    assert event.raw["stockpiling"]["MMK"] == Money("9674.75", "MMK")
    assert event.transactions[0].occurred_at == datetime(2023, 8, 1, 13, 38, 2, tzinfo=PLUS8)


def test_timezone_setting(kit: Any, deposit: Any) -> None:
    """Datetimes are read in the configured zone."""
    provider = kit.provider(postback_timezone="+06:30")
    event = provider.verify_postback(kit.signed_body(deposit), {})
    assert event.occurred_at == datetime(
        2023, 8, 1, 13, 37, 42, tzinfo=timezone(timedelta(hours=6, minutes=30))
    )


# -- refusals ------------------------------------------------------------------------


def test_too_large_checked_first(kit: Any, deposit: Any) -> None:
    """An over-size body is refused before it is read."""
    body = kit.signed_body(deposit)
    provider = kit.provider(max_postback_bytes=len(body) - 1)
    with pytest.raises(PayloadTooLargeError) as info:
        provider.verify_postback(body, {})
    assert info.value.limit == len(body) - 1
    assert kit.provider(max_postback_bytes=len(body)).verify_postback(body, {})


def test_wrong_access_key(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """A body signed with another access key is refused."""
    body = kit.signed_body(deposit, access_key="other-access-key")
    with pytest.raises(SignatureError, match="access_key"):
        provider.verify_postback(body, {})


def test_wrong_private_key(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """A body signed with another private key is refused."""
    body = kit.signed_body(deposit, private_key="other-private-key")
    with pytest.raises(SignatureError, match="signature"):
        provider.verify_postback(body, {})


def test_tampered_amount_in_signed_member(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """Changing a transaction amount breaks the signature."""
    body = kit.signed_body(deposit).replace(b'"amount":"6000"', b'"amount":"9000"')
    with pytest.raises(SignatureError):
        provider.verify_postback(body, {})


@pytest.mark.parametrize("missing", ["access_key", "signature"])
def test_missing_credentials(
    kit: Any, provider: WavepayProvider, deposit: Any, missing: str
) -> None:
    """Without access_key or signature nothing verifies."""
    body = json.loads(kit.signed_body(deposit))
    del body[missing]
    with pytest.raises(SignatureError):
        provider.verify_postback(json.dumps(body).encode(), {})


def test_signature_not_a_string(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """A non-string signature is refused, not crashed on."""
    body = json.loads(kit.signed_body(deposit))
    body["signature"] = ["ünïcode"]
    with pytest.raises(SignatureError):
        provider.verify_postback(json.dumps(body).encode(), {})


def test_unknown_direction(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """An unknown direction is malformed, never an event."""
    with pytest.raises(MalformedPayloadError, match="direction"):
        provider.verify_postback(kit.signed_body({**deposit, "direction": "sideways"}), {})


def test_flipped_direction(kit: Any, provider: WavepayProvider, withdrawal: Any) -> None:
    """A withdrawal postback whose unsigned direction says ingoing is refused."""
    with pytest.raises(MalformedPayloadError, match="direction: 'ingoing' contradicts"):
        provider.verify_postback(kit.signed_body({**withdrawal, "direction": "ingoing"}), {})


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"amount": "lots"}, "amount"),
        ({"amount": True}, "amount"),
        ({"currency_code": 5}, "currency_code"),
        ({"created_datetime": "01/08/2023"}, "created_datetime"),
        ({"created_datetime": "2023-02-30 10:00:00"}, "created_datetime"),
        ({"converted_amount": {"USD": "4.61"}}, "converted_amount"),
        ({"converted_amount": {"usd": 4.61}}, "converted_amount"),
        ({"converted_amount": [1]}, "converted_amount"),
        ({"direction": None}, "direction"),
        ({"additional_data": {}}, "additional_data"),
        ({"additional_data": []}, "additional_data"),
        ({"additional_data": [{"amount": "1"}]}, "transaction_id"),
        ({"additional_data": ["x"]}, "additional_data"),
    ],
)
def test_malformed(
    kit: Any, provider: WavepayProvider, deposit: Any, change: dict[str, Any], match: str
) -> None:
    """Missing or mistyped members are malformed, with the member named."""
    with pytest.raises(MalformedPayloadError, match=match):
        provider.verify_postback(kit.signed_body({**deposit, **change}), {})


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b'{"a":1,}',
        b'{"a":1} x',
        b"\xff\xfe",
        b'{"additional_data":[],"transactions":[]}',
        b'{"access_key":"a"}',
        b'{"additional_data":[1],"additional_data":[2]}',
        b'{"additional_data":NaN}',
        b"[" * 100_000,
        b'{"x":' + b"[" * 100_000,
    ],
)
def test_not_a_postback(provider: WavepayProvider, body: bytes) -> None:
    """Bodies that are not postbacks are malformed."""
    with pytest.raises(MalformedPayloadError):
        provider.verify_postback(body, {})


def test_answers(provider: WavepayProvider) -> None:
    """200 {"status":"ok"} when accepted, 503 otherwise; JSON either way."""
    ok = provider.postback_answer(accepted=True)
    assert (ok.status_code, json.loads(ok.content)) == (200, {"status": "ok"})
    assert ok.headers["content-type"] == "application/json"
    retry = provider.postback_answer(accepted=False)
    assert (retry.status_code, json.loads(retry.content)) == (503, {"status": "error"})


# -- the raw member extractor --------------------------------------------------------


def test_scan_spans_with_whitespace_and_escapes() -> None:
    """Spans cover each value's raw text, through whitespace, nesting and escapes."""
    text = ' {\n "a" : [1, {"b": "}\\"]"}] ,\t"c":"x\\u00e9/" ,"d":{}}\r\n'
    members, spans = scan_object(text)
    assert members == {"a": [1, {"b": '}"]'}], "c": "x\u00e9/", "d": {}}
    assert {key: text[a:b] for key, (a, b) in spans.items()} == {
        "a": '[1, {"b": "}\\"]"}]',
        "c": '"x\\u00e9/"',
        "d": "{}",
    }


def test_scan_empty_object() -> None:
    """{} has no members."""
    assert scan_object(" { } ") == ({}, {})


def test_scan_rejects_duplicates() -> None:
    """A repeated top-level name is malformed."""
    with pytest.raises(MalformedPayloadError, match="twice"):
        scan_object('{"a":1,"a":1}')


def test_scan_decimals() -> None:
    """Fractions are Decimal, never float."""
    members, _ = scan_object('{"a":0.1,"b":[1e2]}')
    assert members == {"a": Decimal("0.1"), "b": [Decimal("1e2")]}
    assert type(members["a"]) is Decimal
