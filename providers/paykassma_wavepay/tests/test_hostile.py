"""Hostile but correctly signed postbacks: an event that round-trips, or a payplane error.

Whoever holds the postback keys (or replays a captured body and changes what is not
signed) can send odd text (lone surrogate escapes, NUL), deep nesting, absurd numbers
and repeated member names. ``verify_postback`` must then return a
:class:`~payplane.PostbackEvent` that payplane can store and load again, or raise a
:class:`~payplane.exceptions.PayplaneError`; nothing else.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event as event_
from hypothesis import given
from hypothesis import strategies as st

from payplane import Money, PostbackEvent
from payplane._inbox._codec import event_from_dict, event_to_dict
from payplane.exceptions import MalformedPayloadError, PayplaneError
from payplane_paykassma_wavepay import WavepayProvider, postback_signature
from payplane_paykassma_wavepay._postbacks import MAX_DEPTH

# -- JSON text with what json.dumps cannot write: repeated names, raw number tokens ----


class Raw(str):
    """A JSON token written as is (a number such as ``1e999999``)."""

    __slots__ = ()


class Pairs(list[tuple[str, Any]]):
    """A JSON object as its list of members, names possibly repeated."""


def write(value: object) -> str:
    """Write *value* as JSON; strings ASCII-escaped, so lone surrogates survive as escapes."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{write(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return write(Pairs(value.items()))
    if isinstance(value, list):
        return "[" + ",".join(write(v) for v in value) + "]"
    return json.dumps(value)


def nested(depth: int) -> Raw:
    """JSON text *depth* levels deep, objects and arrays in turn (written without recursion)."""
    opening = "".join('{"x":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return Raw(f"{opening}1{closing}")


hostile_text = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zl", "Cf"]), max_size=4),
    st.sampled_from(["\ud800", "\udfff", "\x00", "a\x00b", "\ud83d\ude00", "\u2028", "\ufeff"]),
)
hostile_numbers = st.one_of(
    st.sampled_from(
        ["1e999999", "-0", "-0.0", "1e-999999", "1" * 40, "1e400", "1E-7", "0.1", "6000", "1e3"]
    ).map(Raw),
    st.integers(min_value=-(10**45), max_value=10**45).map(lambda n: Raw(str(n))),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(str(d))),
)
scalars = st.one_of(st.none(), st.booleans(), hostile_text, hostile_numbers)
hostile_values = st.one_of(
    scalars,
    st.integers(min_value=MAX_DEPTH - 3, max_value=600).map(nested),
    st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.lists(st.tuples(st.sampled_from(["a", "b", "amount"]), children), max_size=3).map(
                Pairs
            ),
        ),
        max_leaves=8,
    ),
)


@st.composite
def consistent_members(draw: st.DrawFn) -> tuple[list[Pairs], Pairs, str]:
    """Signed entries and unsigned members that agree, and the signed member's name."""
    withdrawal = draw(st.booleans())
    count = 1 if withdrawal else draw(st.integers(min_value=1, max_value=3))
    currency = draw(st.sampled_from(["MMK", "USD"]))
    signed_entries = [
        Pairs(
            [
                ("activated_datetime", draw(st.sampled_from(["", "2023-08-01 16:37:16"]))),
                ("amount", "100"),
                ("currency_code", currency),
                ("wallet_type", "wavepay"),
                ("transaction_id", "" if withdrawal else f"T{index}"),
                ("withdrawal_id", "10319" if withdrawal else None),
                ("withdrawal_status", 1 if withdrawal else None),
                ("comment", ""),
                ("bank_details", Pairs([("bank_code", ""), ("branch_code", "")])),
            ]
        )
        for index in range(count)
    ]
    top = Pairs(
        [
            ("wallet_type", "wavepay"),
            ("amount", Raw(str(100 * count))),
            ("currency_code", currency),
            ("label", "55"),
            ("converted_amount", Pairs([("USD", Raw("4.61"))])),
            ("direction", "outgoing" if withdrawal else "ingoing"),
            ("created_datetime", "2023-08-01 13:37:42"),
        ]
    )
    member = "additional_data" if withdrawal or draw(st.integers(0, 3)) else "transactions"
    return signed_entries, top, member


def replace(pairs: Pairs, name: str, value: object, *, repeat: bool = False) -> None:
    """Give *name* the *value* in *pairs*; or, with *repeat*, add it once more."""
    if repeat or name not in dict(pairs):
        pairs.append((name, value))
    else:
        pairs[:] = [(k, value if k == name else v) for k, v in pairs]


SIGNED_NAMES = [
    "amount",
    "currency_code",
    "transaction_id",
    "withdrawal_id",
    "withdrawal_status",
    "plugin_custom_order_id",
    "activated_datetime",
    "comment",
    "bank_details",
    "new_member",
]
UNSIGNED_NAMES = [
    "amount",
    "currency_code",
    "label",
    "created_datetime",
    "wallet_type",
    "converted_amount",
    "extra",
]


@st.composite
def hostile_bodies(draw: st.DrawFn, kit: Any) -> bytes:
    """A correctly signed, otherwise consistent body with one to three hostile changes.

    Each change puts odd text (lone surrogates, NUL, controls), an absurd number, deep
    nesting or a repeated name into a signed entry or an unsigned member.
    """
    signed_entries, top, member = draw(consistent_members())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        repeat = draw(st.integers(min_value=0, max_value=4)) == 0
        if draw(st.booleans()):
            entry = draw(st.sampled_from(signed_entries))
            replace(entry, draw(st.sampled_from(SIGNED_NAMES)), draw(hostile_values), repeat=repeat)
        else:
            name = draw(st.sampled_from(UNSIGNED_NAMES))
            if name == "converted_amount":
                codes = st.sampled_from(["USD", "BTC", "EUR"])
                value: object = Pairs(draw(st.lists(st.tuples(codes, hostile_numbers), max_size=3)))
            else:
                value = draw(hostile_values)
            replace(top, name, value, repeat=repeat)
    signed = write(signed_entries)
    head = Pairs(
        [
            ("access_key", kit.access_key),
            ("signature", postback_signature(kit.access_key, kit.private_key, signed)),
        ]
    )
    text = write(Pairs([*head, *top]))
    return f'{text[:-1]},"{member}":{signed}}}'.encode()


def check_round_trip(event: PostbackEvent) -> None:
    """The event's stored form loads back to an equal event, in Python and as JSON text."""
    data = event_to_dict(event)
    again = event_from_dict(data)
    assert again == event
    assert event_to_dict(again) == data
    text = json.dumps(data, ensure_ascii=True)  # lone surrogates as escapes, NUL too
    assert event_from_dict(json.loads(text)) == event


@given(st.data())
def test_hostile_signed_bodies_give_an_event_or_a_payplane_error(
    kit: Any, data: st.DataObject
) -> None:
    """Odd text, depth, absurd numbers, repeated names: a storable event or a PayplaneError."""
    provider = kit.provider()
    body = data.draw(hostile_bodies(kit))
    try:
        event = provider.verify_postback(body, {})
    except PayplaneError as exc:
        event_(f"refused: {type(exc).__name__}")
        return
    event_("event")
    check_round_trip(event)


# -- one example of each hostile kind -------------------------------------------------


def body_with(kit: Any, signed_entries: list[object], **top: object) -> bytes:
    """A signed current-format body: *signed_entries* and the unsigned *top* members."""
    signed = write(signed_entries)
    unsigned = {"amount": Raw("6000"), "currency_code": "MMK", "direction": "ingoing", **top}
    members = Pairs(
        [
            ("access_key", kit.access_key),
            ("signature", postback_signature(kit.access_key, kit.private_key, signed)),
            *unsigned.items(),
        ]
    )
    text = write(members)
    return f'{text[:-1]},"additional_data":{signed}}}'.encode()


def deposit_entry(**changes: object) -> Pairs:
    entry = {"amount": "6000", "currency_code": "MMK", "transaction_id": "5750E9FBB3"}
    return Pairs({**entry, **changes}.items())


@pytest.fixture
def hostile(kit: Any) -> WavepayProvider:
    """A provider with the test keys."""
    provider: WavepayProvider = kit.provider()
    return provider


@pytest.mark.parametrize("text", ["\ud800", "\udc00\ud800", "a\x00b", "\x00"])
def test_odd_text_in_a_signed_comment_is_kept(
    kit: Any, hostile: WavepayProvider, text: str
) -> None:
    """Lone surrogates and NUL in a signed free-text member: an event, stored as sent."""
    event = hostile.verify_postback(body_with(kit, [deposit_entry(comment=text)]), {})
    assert event.transactions[0].raw["comment"] == text
    check_round_trip(event)


@pytest.mark.parametrize("text", ["\ud800", "a\x00", "\udc00\ud800", "x\n"])
def test_odd_text_in_a_signed_id_is_refused(kit: Any, hostile: WavepayProvider, text: str) -> None:
    """An id the event key is built from holding control characters or surrogates."""
    body = body_with(kit, [deposit_entry(transaction_id=text)])
    with pytest.raises(MalformedPayloadError, match="transaction_id: holds"):
        hostile.verify_postback(body, {})


@pytest.mark.parametrize("where", ["unsigned", "signed"])
@pytest.mark.parametrize("depth", [MAX_DEPTH, 500, 900])
def test_deep_nesting_is_refused(
    kit: Any, hostile: WavepayProvider, where: str, depth: int
) -> None:
    """Nesting past MAX_DEPTH levels, in an unsigned member or inside the signed one."""
    deep = nested(depth)
    if where == "unsigned":
        body = body_with(kit, [deposit_entry()], extra=deep)
    else:
        body = body_with(kit, [deposit_entry(comment=deep)])
    with pytest.raises(MalformedPayloadError, match="nested deeper than 32 levels"):
        hostile.verify_postback(body, {})


def test_nesting_up_to_the_limit_is_an_event(kit: Any, hostile: WavepayProvider) -> None:
    """A body exactly MAX_DEPTH levels deep is read, and round-trips."""
    # Body (1) > additional_data (2) > entry (3) > comment: MAX_DEPTH - 3 more levels.
    deep = nested(MAX_DEPTH - 3)
    event = hostile.verify_postback(body_with(kit, [deposit_entry(comment=deep)]), {})
    check_round_trip(event)
    wide = nested(MAX_DEPTH - 2)  # beside the signed member: body (1) > extra (2) > ...
    check_round_trip(hostile.verify_postback(body_with(kit, [deposit_entry()], extra=wide), {}))


@pytest.mark.parametrize(
    "number", ["1e999999", "1e-999999", "1" * 40, "-0", "1e9999999999999999999", "1e400"]
)
def test_absurd_numbers_in_a_signed_amount_are_refused(
    kit: Any, hostile: WavepayProvider, number: str
) -> None:
    """A signed amount out of range, or no Decimal at all, is malformed."""
    body = body_with(kit, [deposit_entry(amount=Raw(number))])
    with pytest.raises(MalformedPayloadError, match=r"amount|out of range"):
        hostile.verify_postback(body, {})


@pytest.mark.parametrize("number", ["1e999999", "1e-999999", "1" * 40, "-0", "1e400"])
def test_absurd_numbers_in_unsigned_members_round_trip(
    kit: Any, hostile: WavepayProvider, number: str
) -> None:
    """Absurd but finite numbers where nothing is computed from them: kept exactly."""
    converted = Pairs([("USD", Raw(number))])
    body = body_with(kit, [deposit_entry()], converted_amount=converted, extra=Raw(number))
    event = hostile.verify_postback(body, {})
    assert event.raw["converted_amount"]["USD"] == Money(Decimal(number), "USD")
    assert event.raw["extra"] == Decimal(number)
    check_round_trip(event)


@pytest.mark.parametrize("member", ["converted_amount", "extra", "amount"])
def test_numbers_no_decimal_holds_are_refused(
    kit: Any, hostile: WavepayProvider, member: str
) -> None:
    """``1e9999999999999999999`` anywhere: malformed, not decimal.InvalidOperation."""
    value: object = Raw("1e9999999999999999999")
    if member == "converted_amount":
        value = Pairs([("USD", value)])
    with pytest.raises(MalformedPayloadError, match="out of range"):
        hostile.verify_postback(body_with(kit, [deposit_entry()], **{member: value}), {})


def test_out_of_range_number_before_the_signature(hostile: WavepayProvider) -> None:
    """An unsigned body with such a number is refused as malformed too, not a crash."""
    with pytest.raises(MalformedPayloadError):
        hostile.verify_postback(b'{"a":1e9999999999999999999}', {})


@pytest.mark.parametrize(
    "entry",
    [
        Pairs([*deposit_entry(), ("amount", "1")]),
        Pairs(
            [*deposit_entry(), ("bank_details", Pairs([("bank_code", "a"), ("bank_code", "b")]))]
        ),
        Pairs([*deposit_entry(), ("transaction_id", "OTHER")]),
    ],
)
def test_repeated_names_inside_the_signed_member_are_refused(
    kit: Any, hostile: WavepayProvider, entry: Pairs
) -> None:
    """Which of two values a signature covers is ambiguous: refused, at any depth."""
    with pytest.raises(MalformedPayloadError, match="appears twice"):
        hostile.verify_postback(body_with(kit, [entry]), {})


def test_repeated_names_in_unsigned_objects_keep_the_last(
    kit: Any, hostile: WavepayProvider
) -> None:
    """Nothing in an unsigned member is trusted; json's rule (the last value) applies."""
    extra = Pairs([("a", 1), ("a", 2)])
    event = hostile.verify_postback(body_with(kit, [deposit_entry()], extra=extra), {})
    assert event.raw["extra"] == {"a": 2}


@pytest.mark.parametrize("status", [[1], Pairs([("a", 1)]), True, Raw("1.0"), "\x00"])
def test_odd_withdrawal_status_is_refused(
    kit: Any, hostile: WavepayProvider, status: object
) -> None:
    """A withdrawal status must be an integer or text code without control characters."""
    entry = Pairs(
        [
            ("amount", "20000"),
            ("currency_code", "MMK"),
            ("withdrawal_id", "10319"),
            ("withdrawal_status", status),
        ]
    )
    body = body_with(kit, [entry]).replace(b'"ingoing"', b'"outgoing"')
    with pytest.raises(MalformedPayloadError, match="withdrawal_status"):
        hostile.verify_postback(body, {})


@pytest.mark.parametrize(
    "value", ["\uff12\uff10\uff12\uff13-08-01 16:37:16", "2023-08-01 16:37:16\n"]
)
def test_datetimes_take_ascii_digits_only(kit: Any, hostile: WavepayProvider, value: str) -> None:
    """Fullwidth digits (which \\d matches) or a trailing newline are no datetime."""
    body = body_with(kit, [deposit_entry(activated_datetime=value)])
    with pytest.raises(MalformedPayloadError, match="activated_datetime"):
        hostile.verify_postback(body, {})


def test_odd_member_names_round_trip(kit: Any, hostile: WavepayProvider) -> None:
    """Lone surrogates and NUL in member names, signed or not: kept, and stored alike."""
    odd = Pairs([("\udfff", "\x00")])
    entry = Pairs([*deposit_entry(), ("\ud800", "\ud800")])
    event = hostile.verify_postback(body_with(kit, [entry], **{"\ud800\x00": odd}), {})
    assert event.raw["\ud800\x00"] == {"\udfff": "\x00"}
    assert event.transactions[0].raw["\ud800"] == "\ud800"
    check_round_trip(event)
