"""Property-based tests: signing, verification, status mapping, wire and money round trips."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from payplane import Money, WithdrawalStatus
from payplane.exceptions import MalformedPayloadError, PayplaneError, SignatureError
from payplane_paykassma_wavepay import (
    postback_signature,
    verify_postback_body,
    withdrawal_signature,
)
from payplane_paykassma_wavepay._postbacks import WITHDRAWAL_STATUSES
from payplane_paykassma_wavepay._wire import (
    WireTransaction,
    make_converter,
)

ACCESS = "prop-access-key"
PRIVATE = "prop-private-key"

keys = st.text(min_size=1, max_size=20)
names = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False),
)
flat_fields = st.dictionaries(names, scalars, min_size=1, max_size=8)
decimal_amounts = st.decimals(allow_nan=False, allow_infinity=False, places=2)
identifiers = st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=12)
json_text = st.text(max_size=15)


def php_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@st.composite
def transactions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "activated_datetime": draw(st.sampled_from(["", "2023-08-01 16:37:16"])),
        "comment": draw(json_text),
        "amount": str(draw(st.integers(min_value=1, max_value=10**9))),
        "currency_code": "MMK",
        "wallet_type": "wavepay",
        "stockpiling_id": draw(st.none() | st.integers(min_value=0)),
        "transaction_id": draw(identifiers),
        "withdrawal_id": None,
        "withdrawal_status": None,
        "bank_details": {"bank_code": draw(json_text), "branch_code": ""},
    }


@st.composite
def postbacks(draw: st.DrawFn) -> tuple[bytes, tuple[int, int]]:
    """A signed PHP-style deposit postback and the byte span of its signed member."""
    items = draw(st.lists(transactions(), min_size=1, max_size=4))
    signed = php_json(items)
    body = {
        "signature": postback_signature(ACCESS, PRIVATE, signed),
        "wallet_type": "wavepay",
        "amount": draw(st.integers(min_value=1, max_value=10**9)),
        "currency_code": "MMK",
        "label": draw(identifiers),
        "converted_amount": {"USD": 4.61, "USDTTRC20": 0},
        "direction": "ingoing",
        "created_datetime": "2023-08-01 13:37:42",
        "access_key": ACCESS,
    }
    text = php_json(body)[:-1] + ',"additional_data":' + signed + "}"
    raw = text.encode()
    start = raw.index(b'"additional_data":') + len(b'"additional_data":')
    return raw, (start, len(raw) - 1)


@given(flat_fields, keys)
def test_withdrawal_signing_is_deterministic(fields: dict[str, Any], key: str) -> None:
    """The same fields and key always give the same lower-case 40-digit signature."""
    first = withdrawal_signature(fields, key)
    assert first == withdrawal_signature(dict(reversed(list(fields.items()))), key)
    assert len(first) == 40
    assert first == first.lower()


@given(flat_fields, keys, st.data())
def test_withdrawal_signature_changes_with_any_value(
    fields: dict[str, Any], key: str, data: st.DataObject
) -> None:
    """Changing one signed value changes the signature (PHP-equal values aside)."""
    name = data.draw(st.sampled_from(sorted(fields)))
    assume(name != "signature")
    new = data.draw(st.text(max_size=20))
    old = fields[name]
    php_old = (
        "1"
        if old is True
        else ""
        if old in (False, None)
        else str(old)
        if not isinstance(old, Decimal)
        else format(old, "f")
    )
    assume(new != php_old)
    assume(":" not in new and all(":" not in str(v) for v in fields.values()))
    changed = {**fields, name: new}
    assert withdrawal_signature(changed, key) != withdrawal_signature(fields, key)


@given(flat_fields, keys, names, st.text(min_size=1, max_size=10))
def test_withdrawal_signature_changes_with_added_field(
    fields: dict[str, Any], key: str, name: str, value: str
) -> None:
    """Adding a non-empty field changes the signature; removing it changes it back."""
    assume(name not in fields and name != "signature")
    added = {**fields, name: value}
    assert withdrawal_signature(added, key) != withdrawal_signature(fields, key)


@given(flat_fields, keys, keys)
def test_withdrawal_signature_changes_with_key(fields: dict[str, Any], a: str, b: str) -> None:
    """Another private key gives another signature."""
    assume(a != b)
    assert withdrawal_signature(fields, a) != withdrawal_signature(fields, b)


@given(st.binary(max_size=200), keys, keys, keys)
def test_postback_signature_changes_with_keys(signed: bytes, a: str, b: str, c: str) -> None:
    """Changing either key changes the postback signature."""
    assume(len({a, b, c}) == 3 and not b.startswith(a) and not a.startswith(b))
    base = postback_signature(a, c, signed)
    assert base != postback_signature(b, c, signed)
    assert base != postback_signature(a, b, signed)


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_postback_signature_changes_with_text(one: bytes, other: bytes) -> None:
    """Another signed text gives another signature."""
    assume(one != other)
    assert postback_signature(ACCESS, PRIVATE, one) != postback_signature(ACCESS, PRIVATE, other)


@given(postbacks())
def test_verify_signed_postbacks(case: tuple[bytes, tuple[int, int]]) -> None:
    """Every correctly signed postback verifies."""
    body, _ = case
    verify_postback_body(body, ACCESS, PRIVATE)


@given(postbacks(), st.data())
def test_any_byte_change_in_signed_member_rejected(
    case: tuple[bytes, tuple[int, int]], data: st.DataObject
) -> None:
    """Changing one byte of the signed member never yields an accepted postback."""
    body, (start, end) = case
    at = data.draw(st.integers(min_value=start, max_value=end - 1))
    new = data.draw(st.integers(min_value=0, max_value=255))
    assume(new != body[at])
    tampered = body[:at] + bytes([new]) + body[at + 1 :]
    try:
        verify_postback_body(tampered, ACCESS, PRIVATE)
    except (SignatureError, MalformedPayloadError):
        pass
    else:
        raise AssertionError("a tampered postback verified")


@given(st.binary(max_size=500))
def test_arbitrary_bytes_only_raise_payplane_errors(body: bytes) -> None:
    """Any bytes either verify or raise a payplane error, nothing else."""
    with contextlib.suppress(PayplaneError):
        verify_postback_body(body, ACCESS, PRIVATE)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_through_provider(kit: Any, body: bytes) -> None:
    """The provider raises only payplane errors for arbitrary bodies."""
    provider = kit.provider()
    with contextlib.suppress(PayplaneError):
        provider.verify_postback(body, {})


@given(st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans(), st.decimals()))
def test_status_map_total_and_safe(code: object) -> None:
    """Every code maps; only 1 is success, only 1 and 5 are final; raw is kept."""
    mapped = WITHDRAWAL_STATUSES.map(code)
    assert mapped.raw is code
    normalized = None if code is None or isinstance(code, bool) else str(code).strip()
    if normalized == "1":
        assert mapped.status is WithdrawalStatus.SUCCEEDED
    elif normalized == "5":
        assert mapped.status is WithdrawalStatus.FAILED
    else:
        assert mapped.status is WithdrawalStatus.UNKNOWN
        assert not mapped.status.is_final
        assert not mapped.status.is_success


wire_transactions = st.builds(
    WireTransaction,
    amount=decimal_amounts,
    currency_code=st.none() | st.just("MMK"),
    transaction_id=st.none() | identifiers,
    stockpiling_id=st.none() | identifiers,
    withdrawal_id=st.none() | identifiers,
    withdrawal_status=st.none() | st.integers(0, 9),
    activated_datetime=st.none() | st.just("2023-08-01 16:37:16"),
)


@given(wire_transactions)
def test_wire_round_trip(wire: WireTransaction) -> None:
    """Structuring what was unstructured gives the same wire object, amounts exact."""
    converter = make_converter()
    data = converter.unstructure(wire)
    assert json.loads(json.dumps(data)) == data  # plain JSON: amounts as text
    again = converter.structure(data, WireTransaction)
    assert again == wire
    assert again.amount.as_tuple() == wire.amount.as_tuple()


@given(decimal_amounts)
def test_money_round_trip(amount: Decimal) -> None:
    """Money survives to_dict/from_dict and the JSON wire exactly."""
    money = Money(amount, "MMK")
    assert Money.from_dict(json.loads(json.dumps(money.to_dict()))) == money
    assert Money(str(amount), "MMK").amount.as_tuple() == amount.as_tuple()
