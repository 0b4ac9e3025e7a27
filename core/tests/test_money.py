"""Money: exact from construction to serialisation."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import Money, iso_currency, to_decimal
from payplane.exceptions import CurrencyMismatchError, ValidationError

currencies = st.sampled_from(["MMK", "USD", "JPY", "KWD", "CLF", "BTC", "USDTTRC20"])
amounts = st.decimals(allow_nan=False, allow_infinity=False)


@given(amounts, currencies)
def test_round_trip_through_json_is_exact(amount: Decimal, currency: str) -> None:
    """Construct, serialise to JSON text, parse: same amount, same digits, same exponent."""
    money = Money(amount, currency)
    parsed = Money.from_dict(json.loads(json.dumps(money.to_dict())))
    assert parsed == money
    assert parsed.amount.as_tuple() == amount.as_tuple()


@given(amounts, currencies)
def test_string_construction_is_exact(amount: Decimal, currency: str) -> None:
    """A decimal string gives exactly the Decimal it spells."""
    assert Money(str(amount), currency).amount.as_tuple() == amount.as_tuple()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_accepted_only_when_exact(value: float) -> None:
    """A float is taken only when its binary value is the decimal it prints as."""
    exact = Decimal(value)
    if exact == Decimal(repr(value)):
        assert Money(value, "USD").amount == exact
    else:
        with pytest.raises(ValidationError, match="not exactly representable"):
            Money(value, "USD")


def test_point_one_float_is_refused() -> None:
    """0.1 is not 0.1 in binary: refused with a pointer to str/Decimal."""
    with pytest.raises(ValidationError) as info:
        Money(0.1, "USD")
    assert info.value.field == "amount"
    assert "pass a str or Decimal" in str(info.value)


def test_exact_floats_are_accepted() -> None:
    """6000.0 and 0.5 are exact in binary."""
    assert Money(6000.0, "MMK").amount == Decimal(6000)
    assert Money(0.5, "USD").amount == Decimal("0.5")


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), "NaN", "-Infinity", "sNaN", Decimal("nan")]
)
def test_non_finite_amounts_refused(bad: object) -> None:
    """NaN and infinities are never money."""
    with pytest.raises(ValidationError, match="amount"):
        Money(bad, "USD")


@pytest.mark.parametrize("bad", [True, None, [1], "12,5", ""])
def test_non_numbers_refused(bad: object) -> None:
    """bool, None, lists and non-numeric text are refused naming the field."""
    with pytest.raises(ValidationError) as info:
        Money(bad, "USD")
    assert info.value.field == "amount"


@pytest.mark.parametrize("bad", ["usd", "U", "US D", "", 840, "TOOLONGCURRENCY1"])
def test_bad_currency_codes_refused(bad: object) -> None:
    """Currency codes are upper-case letters and digits, 2-12 long."""
    with pytest.raises(ValidationError) as info:
        Money(1, bad)  # type: ignore[arg-type]
    assert info.value.field == "currency"


def test_arithmetic_within_one_currency() -> None:
    """+, -, *, negation keep the currency and are exact."""
    a, b = Money("0.10", "USD"), Money("0.20", "USD")
    assert a + b == Money("0.30", "USD")
    assert b - a == Money("0.10", "USD")
    assert a * 3 == Money("0.30", "USD")
    assert 3 * a == Money("0.30", "USD")
    assert -a == Money("-0.10", "USD")


def test_arithmetic_across_currencies_refused() -> None:
    """Adding or ordering two currencies raises; equality is simply False."""
    usd, mmk = Money(1, "USD"), Money(1, "MMK")
    with pytest.raises(CurrencyMismatchError):
        usd + mmk
    with pytest.raises(CurrencyMismatchError):
        usd - mmk
    with pytest.raises(CurrencyMismatchError):
        usd < mmk  # noqa: B015
    assert usd != mmk


def test_multiplying_by_float_is_refused() -> None:
    """A float factor would bring binary rounding in."""
    with pytest.raises(TypeError):
        Money(1, "USD") * 1.1


def test_ordering() -> None:
    """Ordering compares amounts."""
    assert Money("1.5", "USD") < Money(2, "USD") <= Money("2.00", "USD")
    assert Money(3, "USD") > Money(2, "USD") >= Money(2, "USD")


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("MMK", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("XAU", None)],
)
def test_iso_currencies_know_their_exponent(code: str, exponent: int | None) -> None:
    """Each ISO 4217 currency knows its minor-unit exponent."""
    assert iso_currency(code).exponent == exponent


def test_iso_currency_refuses_crypto() -> None:
    """Requests insist on ISO 4217; crypto codes live only in Money."""
    with pytest.raises(ValidationError, match="ISO 4217") as info:
        iso_currency("BTC", field="currency_code")
    assert info.value.field == "currency_code"


def test_str_and_format() -> None:
    """str shows amount and code; format specs apply to the amount."""
    assert str(Money("6000", "MMK")) == "6000 MMK"
    assert f"{Money('6000', 'MMK'):,.2f}" == "6,000.00 MMK"


def test_to_decimal_keeps_exponent() -> None:
    """'1.10' stays '1.10'."""
    assert str(to_decimal("1.10")) == "1.10"


def test_is_whole() -> None:
    """6000.00 is whole, 0.5 is not."""
    assert Money("6000.00", "MMK").is_whole()
    assert not Money("0.5", "MMK").is_whole()


def test_from_dict_names_missing_field() -> None:
    """A missing member is named."""
    with pytest.raises(ValidationError) as info:
        Money.from_dict({"amount": "1"})
    assert info.value.field == "currency"


# -- decimal notation: ASCII only ------------------------------------------------------

# What Decimal() takes but decimal notation is not.
NOT_NOTATION = [
    "\uff16\uff10\uff10\uff10",  # fullwidth digits
    "\u0666\u0660\u0660\u0660",  # Arabic-Indic digits
    "\u1046\u1040\u1040\u1040",  # Myanmar digits
    "\u096c\u0966\u0966\u0966",  # Devanagari digits
    "6_000",
    "6_000.5",
    " 6000",
    "6000\n",
    "\t6000",
    "6000\u00a0",
    ".5",
    "5.",
    "+",
    "-",
    "1e",
    "1e+",
    "0x10",
    "Inf",
    "Infinity",
    "nan",
    "1,5",
    "1.2.3",
    "--1",
    "",
]


@pytest.mark.parametrize("text", NOT_NOTATION)
def test_text_beyond_ascii_decimal_notation_is_refused(text: str) -> None:
    """Non-ASCII digits, '_', whitespace, '.5' and the like: refused naming field and limit."""
    with pytest.raises(ValidationError) as info:
        Money(text, "MMK")
    assert info.value.field == "amount"
    assert info.value.limit is not None
    assert "decimal" in info.value.limit or "finite" in info.value.limit


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("6000\n", "strip it first"),
        ("\uff16\uff10\uff10\uff10", "ASCII digits"),
        ("6_000", "without '_'"),
    ],
)
def test_refusals_say_what_to_do(text: str, hint: str) -> None:
    """The common careless inputs get a hint."""
    with pytest.raises(ValidationError, match=hint):
        to_decimal(text, field="fixed_amount")


def test_to_decimal_names_the_given_field() -> None:
    """to_decimal refuses with the caller's field name and the notation as the limit."""
    with pytest.raises(ValidationError) as info:
        to_decimal("6 000", field="deposit_amount")
    assert info.value.field == "deposit_amount"
    assert info.value.limit == "ASCII decimal notation, [+-]digits[.digits][e[+-]digits]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6000", Decimal(6000)),
        ("-1.10", Decimal("-1.10")),
        ("+0.5", Decimal("0.5")),
        ("007", Decimal(7)),
        ("1e3", Decimal("1E+3")),
        ("1E-7", Decimal("1E-7")),
        ("6.0e+3", Decimal("6.0E+3")),
        ("-0", Decimal("-0")),
    ],
)
def test_ascii_decimal_notation_is_accepted(text: str, expected: Decimal) -> None:
    """Sign, digits, point and digits, and the exponent form str(Decimal) writes."""
    amount = to_decimal(text)
    assert amount == expected
    assert amount.as_tuple() == expected.as_tuple()


def test_exponent_beyond_decimal_is_refused() -> None:
    """An exponent no Decimal holds is a ValidationError, not decimal.InvalidOperation."""
    with pytest.raises(ValidationError, match="exponent out of range"):
        to_decimal("1e9999999999999999999")


notation = st.from_regex(r"\A[+-]?[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,6})?\Z")


@given(notation)
def test_every_ascii_decimal_notation_is_accepted_exactly(text: str) -> None:
    """Anything in the notation reads as exactly the Decimal it spells."""
    assert to_decimal(text).as_tuple() == Decimal(text).as_tuple()


@given(st.text(max_size=12))
def test_only_ascii_decimal_notation_is_accepted(text: str) -> None:
    """Any text is accepted only if it is ASCII decimal notation, else a ValidationError."""
    try:
        amount = to_decimal(text)
    except ValidationError as exc:
        assert exc.field == "amount"  # noqa: PT017 - the refusal's contents are the point
        return
    assert text.isascii()
    assert text.strip() == text
    assert "_" not in text
    assert amount == Decimal(text)


@given(amounts, currencies)
def test_str_round_trip_is_exact(amount: Decimal, currency: str) -> None:
    """The amount str(Money) writes reads back to the same digits and exponent."""
    money = Money(amount, currency)
    text, code = str(money).split(" ")
    again = Money(text, code)
    assert again == money
    assert again.amount.as_tuple() == money.amount.as_tuple()


# -- arithmetic never rounds ----------------------------------------------------------

long_amounts = st.decimals(allow_nan=False, allow_infinity=False, places=20).filter(
    lambda d: abs(d) < Decimal(10) ** 30
)


@given(long_amounts, long_amounts)
def test_arithmetic_is_exact_beyond_28_digits(a: Decimal, b: Decimal) -> None:
    """+, - and * give the exact result where decimal's default context would round."""
    x, y = Money(a, "USD"), Money(b, "USD")
    with localcontext(prec=200):  # the expected values, computed without rounding
        total, difference, triple, negated = a + b, a - b, a * 3, -a
    assert (x + y).amount == total
    assert (x - y).amount == difference
    assert (x + y) - y == x
    assert (x * 3).amount == triple
    assert (-x).amount == negated


def test_sum_of_long_amounts_is_exact() -> None:
    """An example the default 28-digit context gets wrong."""
    big = Money("999999999999999999.999999999999", "MMK")
    total = big + Money("0.00000001", "MMK")
    assert total.amount == Decimal("1000000000000000000.000000009999")
    assert -Money("1234567890123456789012345678.90", "MMK") == Money(
        "-1234567890123456789012345678.90", "MMK"
    )
