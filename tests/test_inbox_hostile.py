"""Correctly signed hostile Paykassma Wavepay postbacks, on every store: 200 and recorded
exactly, or 400 and kept among the rejected; never another answer, never an exception.

The bodies are signed with the provider's public ``postback_signature`` over the raw text
of ``additional_data``, so they pass verification and reach the parser, the event, the
store and the handler. Their signed items and their unsigned members hold odd strings
(lone surrogate escapes, NUL and other controls, non-BMP, long text), odd numbers
(``1e999999``, 4,301 digits), nesting up to 1,500 levels and duplicate member names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import payplane_hostile as hostile
import payplane_inboxkit as kit
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import payplane
from payplane import InboxTransaction, PostbackEvent
from payplane._inbox._codec import event_to_dict
from payplane.exceptions import PayplaneError
from payplane_paykassma_wavepay import postback_signature

PROVIDER = "paykassma_wavepay"
# The keys of providers/paykassma_wavepay/tests/conftest.py.
ACCESS_KEY = "test-access-key"
PRIVATE_KEY = "test-private-key"
SETTINGS: dict[str, object] = {
    "api_host": "https://api.example.com",
    "pluginapi_secret": "plugin-api-secret-1",
    "withdrawal_private_key": "withdrawal-private-key-1",
    "postback_access_key": ACCESS_KEY,
    "postback_private_key": PRIVATE_KEY,
    "plugin_host": "https://plugin.example.com",
}
ITEM_AMOUNT = 1000

mostly = st.sampled_from([True, True, True, False])


@st.composite
def item(draw: st.DrawFn, tag: str) -> tuple[str, bool]:
    """The JSON text of one signed transaction, and whether its amount is ordinary."""
    plain_amount = draw(mostly)
    amount = f'"{ITEM_AMOUNT}"' if plain_amount else draw(hostile.json_number)
    transaction_id = tag
    if not draw(mostly):
        transaction_id += draw(hostile.odd_text)
    pairs = [
        ('"activated_datetime"', '"2023-08-01 16:37:40"'),
        ('"amount"', amount),
        ('"currency_code"', '"MMK"'),
        ('"wallet_type"', '"wavepay"'),
        ('"transaction_id"', json.dumps(transaction_id, ensure_ascii=draw(st.booleans()))),
        ('"comment"', draw(hostile.json_string())),
        ('"bank_details"', '{"bank_code":"","branch_code":""}'),
        *draw(hostile.members()),
    ]
    return hostile.json_object(pairs), plain_amount


@st.composite
def signed_postback(draw: st.DrawFn) -> bytes:
    """A Wavepay deposit postback signed with the test keys, odd in signed and unsigned parts."""
    tag = f"TX{uuid.uuid4().hex[:12]}"
    drawn = [draw(item(f"{tag}-{index}")) for index in range(draw(st.integers(1, 3)))]
    signed = "[" + ",".join(text for text, _ in drawn) + "]"
    consistent = all(plain for _, plain in drawn) and draw(mostly)
    total = ITEM_AMOUNT * len(drawn)
    pairs = [
        (
            '"signature"',
            json.dumps(postback_signature(ACCESS_KEY, PRIVATE_KEY, hostile.encode(signed))),
        ),
        ('"wallet_type"', '"wavepay"'),
        ('"amount"', str(total) if consistent else draw(hostile.json_number)),
        ('"currency_code"', '"MMK"'),
        ('"label"', draw(hostile.json_string())),
        (
            '"converted_amount"',
            f'{{"USD":0.5,"MMK":{total}}}' if draw(mostly) else draw(hostile.json_value()),
        ),
        ('"direction"', '"ingoing"'),
        ('"created_datetime"', '"2023-08-01 13:37:42"'),
        ('"access_key"', json.dumps(ACCESS_KEY)),
        ('"additional_data"', signed),
        *draw(hostile.members()),
    ]
    return hostile.encode(hostile.json_object(pairs))


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn, shared by all of a test's examples (their keys are unique)."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


class Counter:
    """A handler counting its runs per event key."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Count one run."""
        self.runs[event.event_key] = self.runs.get(event.event_key, 0) + 1


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=signed_postback())
def test_signed_hostile_postbacks_are_recorded_exactly_or_refused_and_kept(
    body: bytes, store: payplane.Store
) -> None:
    """200 with the event recorded losslessly and repeats not re-applied, or 400 and kept."""
    registry = payplane.Registry(strict=True)
    handler = Counter()
    inbox = payplane.Inbox(store, handler, providers={PROVIDER: SETTINGS}, registry=registry)
    verifier = registry.create_provider(PROVIDER, SETTINGS)[2]
    stored_body = body.replace(ACCESS_KEY.encode(), b"***")

    answer = inbox.receive(PROVIDER, body, {})

    event(f"answer {answer.status_code}")
    assert answer.status_code in {200, 400}, answer.content
    try:
        verified: PostbackEvent | None = verifier.verify_postback(body, {})  # type: ignore[attr-defined]
    except PayplaneError:
        verified = None
    if answer.status_code == 400:
        (rejected,) = inbox.rejected(limit=1)
        assert (rejected.provider, rejected.body) == (PROVIDER, stored_body[: 64 * 1024])
        if verified is not None:  # verified, yet the inbox could not store it exactly
            assert inbox.get(PROVIDER, verified.event_key) is None
            assert handler.runs == {}
        return
    assert answer.content == b'{"status":"ok"}'
    assert verified is not None
    record = inbox.get(PROVIDER, verified.event_key)
    assert record is not None
    assert record.body == stored_body
    assert record.event_data == event_to_dict(verified)
    assert event_to_dict(record.event) == record.event_data
    assert handler.runs == {verified.event_key: 1}
    again = inbox.receive(PROVIDER, body, {})
    assert (again.status_code, again.content) == (200, b'{"status":"ok"}')
    assert handler.runs == {verified.event_key: 1}


def test_secret_echoed_in_an_unsigned_member_is_scrubbed_from_the_stored_event(
    store: payplane.Store,
) -> None:
    """The postback access key sent again as ``label``: *** in the stored body and event."""
    registry = payplane.Registry(strict=True)
    handler = Counter()
    inbox = payplane.Inbox(store, handler, providers={PROVIDER: SETTINGS}, registry=registry)
    signed = json.dumps(
        [{"amount": "1000", "currency_code": "MMK", "transaction_id": "TXSECRET1"}],
        separators=(",", ":"),
    )
    body = json.dumps(
        {
            "signature": postback_signature(ACCESS_KEY, PRIVATE_KEY, signed),
            "amount": 1000,
            "currency_code": "MMK",
            "label": ACCESS_KEY,
            "note": {"again": [f"key={ACCESS_KEY}"]},
            "direction": "ingoing",
            "access_key": ACCESS_KEY,
            "additional_data": json.loads(signed),
        },
        separators=(",", ":"),
    ).encode()
    assert inbox.receive(PROVIDER, body, {}).status_code == 200
    record = inbox.get(PROVIDER, "ingoing:TXSECRET1")
    assert record is not None
    assert ACCESS_KEY not in json.dumps(record.event_data)
    assert ACCESS_KEY.encode() not in record.body
    assert isinstance(record.event, PostbackEvent)
    assert record.event.customer_id == "***"
    assert record.event.raw["note"] == {"again": ["key=***"]}
