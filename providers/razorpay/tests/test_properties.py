"""Property tests: signing, status mapping, minor units, hostile signed bodies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from payplane import Money, OtherEvent, PostbackEvent, Secret, StatusMap
from payplane.exceptions import (
    MalformedPayloadError,
    SignatureError,
    ValidationError,
)
from payplane_razorpay import RazorpayProvider, _wire, verify_webhook_signature, webhook_signature
from payplane_razorpay._amounts import from_minor_units, to_minor_units
from payplane_razorpay._contract import link_entity, payment_entity, payout_entity, refund_entity
from payplane_razorpay._currencies import EXPONENTS, THREE_DECIMAL
from payplane_razorpay._settings import RazorpaySettings
from payplane_razorpay._statuses import (
    ORDER_STATUSES,
    PAYMENT_LINK_STATUSES,
    PAYMENT_STATUSES,
    PAYOUT_STATUSES,
    REFUND_STATUSES,
)

SECRET = "prop-webhook-secret-1"
PROVIDER = RazorpayProvider(
    RazorpaySettings(
        key_id="rzp_test_Prop0000000001",
        key_secret=Secret("prop-key-secret-1"),
        webhook_secret=Secret(SECRET),
    )
)
MAPS: dict[str, StatusMap[Any]] = {
    "payment_link": PAYMENT_LINK_STATUSES,
    "payment": PAYMENT_STATUSES,
    "order": ORDER_STATUSES,
    "refund": REFUND_STATUSES,
    "payout": PAYOUT_STATUSES,
}
secrets = st.text(min_size=1, max_size=40)
bodies = st.binary(max_size=300)


def _headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-razorpay-signature": webhook_signature(body, secret)}


# -- signing ------------------------------------------------------------------------------


@given(body=bodies, secret=secrets)
def test_signature_is_deterministic_lowercase_hex(body: bytes, secret: str) -> None:
    """The same body and secret always give the same 64-character lower-case hex digest."""
    signature = webhook_signature(body, secret)
    assert signature == webhook_signature(body, secret)
    assert len(signature) == 64
    assert set(signature) <= set("0123456789abcdef")
    verify_webhook_signature(body, signature, secret)


@given(body=bodies, secret=secrets, index=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_body_change_breaks_it(body: bytes, secret: str, index: int, flip: int) -> None:
    """Changing one byte of the body breaks the signature."""
    assume(body)
    changed = bytearray(body)
    changed[index % len(body)] ^= flip
    with pytest.raises(SignatureError):
        verify_webhook_signature(bytes(changed), webhook_signature(body, secret), secret)


@given(body=bodies, secret=secrets, other=secrets)
def test_any_secret_change_breaks_it(body: bytes, secret: str, other: str) -> None:
    """Another secret does not verify the signature."""
    assume(other != secret)
    with pytest.raises(SignatureError):
        verify_webhook_signature(body, webhook_signature(body, secret), other)


@given(index=st.integers(0, 63), char=st.sampled_from("0123456789abcdefABCDEF g"))
def test_any_header_change_breaks_it(index: int, char: str) -> None:
    """Changing one character of the signature header is refused by the provider."""
    body, _ = _event_body("payment.captured", {"payment": payment_entity()})
    signature = webhook_signature(body, SECRET)
    assume(signature[index] != char)
    forged = signature[:index] + char + signature[index + 1 :]
    with pytest.raises(SignatureError):
        PROVIDER.verify_postback(body, {"x-razorpay-signature": forged})


# -- status mapping -----------------------------------------------------------------------

codes = st.one_of(
    st.text(max_size=20), st.integers(), st.none(), st.booleans(), st.decimals(allow_nan=False)
)


@pytest.mark.parametrize("name", sorted(MAPS))
@given(raw=codes)
def test_status_mapping_is_total(name: str, raw: object) -> None:
    """Every value maps; one the table does not hold is UNKNOWN: never final, never success."""
    status_map = MAPS[name]
    mapped = status_map.map(raw)
    assert mapped.raw is raw
    known = (
        raw is not None
        and not isinstance(raw, bool)
        and StatusMap.normalize(raw) in status_map.table
    )
    if not known:
        assert mapped.status.name == "UNKNOWN"
        assert not mapped.status.is_final
        assert not mapped.status.is_success


@given(status=st.text(max_size=20))
def test_unknown_payout_status_in_a_webhook_is_never_success(status: str) -> None:
    """A payout webhook with any status text never reads as success unless it is processed."""
    body, headers = _event_body("payout.processed", {"payout": payout_entity(status=status)})
    event = PROVIDER.verify_postback(body, headers)
    assert isinstance(event, PostbackEvent)
    assert event.status.status.is_success == (status.strip() == "processed")


# -- minor units --------------------------------------------------------------------------

currencies = st.sampled_from(sorted(EXPONENTS))


@given(currency=currencies, units=st.integers(min_value=0, max_value=10**30))
def test_minor_units_round_trip(currency: str, units: int) -> None:
    """Wire integer -> Money -> wire integer is exact (3-decimal: multiples of 10)."""
    if currency in THREE_DECIMAL:
        units -= units % 10
    money = from_minor_units(units, currency, "test")
    assert money.amount == Decimal(f"{units}e-{EXPONENTS[currency]}")
    assert to_minor_units(money, "amount", minimum=0) == units


@given(
    currency=currencies, units=st.integers(min_value=1, max_value=10**12), extra=st.integers(1, 9)
)
def test_sub_minor_amounts_refused(currency: str, units: int, extra: int) -> None:
    """An amount with one digit more than the exponent is refused, naming the field."""
    exponent = EXPONENTS[currency]
    amount = Decimal(units * 10 + extra).scaleb(-(exponent + 1))
    with pytest.raises(ValidationError) as caught:
        to_minor_units(Money(amount, currency), "amount")
    assert caught.value.field == "amount"


@given(currency=st.sampled_from(sorted(THREE_DECIMAL)), units=st.integers(1, 10**9))
def test_three_decimal_last_digit(currency: str, units: int) -> None:
    """A three-decimal amount is accepted exactly when its last digit is 0."""
    money = Money.from_minor_units(units, currency)
    if units % 10:
        with pytest.raises(ValidationError):
            to_minor_units(money, "amount")
    else:
        assert to_minor_units(money, "amount") == units


# -- hostile, correctly signed bodies --------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
TEMPLATES: dict[str, dict[str, dict[str, Any]]] = {
    "payment.captured": {"payment": payment_entity()},
    "payment_link.paid": {
        "payment_link": link_entity(status="paid", amount_paid=50000),
        "payment": payment_entity(),
    },
    "refund.processed": {"refund": refund_entity()},
    "payout.reversed": {"payout": payout_entity(status="reversed")},
    "order.paid": {"order": {"id": "order_1", "amount": 1, "currency": "INR", "status": "paid"}},
}


def _event_body(event: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    document = {
        "entity": "event",
        "event": event,
        "contains": list(payload),
        "payload": {name: {"entity": entity} for name, entity in payload.items()},
        "created_at": 1735689605,
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    return body, _headers(body)


def _verify_or_payplane_error(body: bytes) -> None:
    try:
        event = PROVIDER.verify_postback(body, _headers(body))
    except MalformedPayloadError:
        return
    assert isinstance(event, PostbackEvent | OtherEvent)
    if isinstance(event, PostbackEvent):
        assert event.amount.amount >= 0


@given(body=st.binary(max_size=400))
def test_signed_bytes_never_crash(body: bytes) -> None:
    """Any correctly signed bytes give an event or a MalformedPayloadError."""
    _verify_or_payplane_error(body)


@given(value=json_values)
def test_signed_json_never_crashes(value: object) -> None:
    """Any correctly signed JSON document gives an event or a MalformedPayloadError."""
    _verify_or_payplane_error(json.dumps(value).encode())


@given(
    event=st.sampled_from(sorted(TEMPLATES)),
    entity_field=st.sampled_from(
        [
            "id",
            "amount",
            "currency",
            "status",
            "notes",
            "created_at",
            "fees",
            "amount_paid",
            "reference_id",
            "payments",
        ]
    ),
    value=json_values,
)
def test_signed_entity_fields_never_crash(event: str, entity_field: str, value: object) -> None:
    """Any value in any field of a mapped entity gives an event or a MalformedPayloadError."""
    payload = {name: dict(entity) for name, entity in TEMPLATES[event].items()}
    first = next(iter(payload))
    payload[first][entity_field] = value
    body, _ = _event_body(event, payload)
    _verify_or_payplane_error(body)


@given(text=st.text(max_size=200), duplicate=st.sampled_from(["event", "payload", "amount"]))
def test_duplicate_members_and_odd_text(text: str, duplicate: str) -> None:
    """Odd text and repeated members in a signed body never pass as anything but an error."""
    body, _ = _event_body("payment.captured", {"payment": payment_entity(description=text)})
    doubled = body.replace(
        f'"{duplicate}":'.encode(), f'"{duplicate}":1,"{duplicate}":'.encode(), 1
    )
    with pytest.raises(MalformedPayloadError):
        PROVIDER.verify_postback(doubled, _headers(doubled))


ENTITY_CLASSES = {
    "payment": _wire.WirePayment,
    "payment_link": _wire.WirePaymentLink,
    "refund": _wire.WireRefund,
    "payout": _wire.WirePayout,
}


@given(
    name=st.sampled_from(sorted(ENTITY_CLASSES)),
    field=st.sampled_from(
        ["id", "amount", "currency", "status", "notes", "created_at", "fees", "payments", "x"]
    ),
    value=json_values,
    drop=st.booleans(),
)
def test_fast_structuring_accepts_what_the_detailed_converter_accepts(
    name: str, field: str, value: object, drop: bool
) -> None:
    """structure() (fast path first) gives what the detailed converter gives, or its error."""
    entity = dict(next(e for p in TEMPLATES.values() for n, e in p.items() if n == name))
    if drop:
        entity.pop(field, None)
    else:
        entity[field] = value
    cls = ENTITY_CLASSES[name]
    try:
        expected: object = _wire.make_converter().structure(entity, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError):
        with pytest.raises(MalformedPayloadError, match=" is malformed: "):
            _wire.structure(entity, cls, what="the entity")
    else:
        assert _wire.structure(entity, cls, what="the entity") == expected
