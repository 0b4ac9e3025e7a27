"""Money in minor units: exact both ways, at any size, refusing what does not fit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import Money
from payplane._currencies import ISO_4217_EXPONENTS
from payplane.exceptions import ValidationError

WITH_EXPONENT = sorted(
    code for code, exponent in ISO_4217_EXPONENTS.items() if exponent is not None
)
WITHOUT_EXPONENT = sorted(code for code, exponent in ISO_4217_EXPONENTS.items() if exponent is None)


@pytest.mark.parametrize(
    ("units", "currency", "expected"),
    [
        (29935, "INR", "299.35"),
        (295, "JPY", "295"),
        (99990, "KWD", "99.990"),
        (0, "USD", "0.00"),
        (-510, "USD", "-5.10"),
        (1, "CLF", "0.0001"),
    ],
)
def test_from_minor_units_uses_the_iso_exponent(units: int, currency: str, expected: str) -> None:
    """Minor units become the exact amount, with the currency's places."""
    money = Money.from_minor_units(units, currency)
    assert money == Money(expected, currency)
    assert str(money.amount) == expected


@given(
    units=st.integers(min_value=-(10**60), max_value=10**60),
    currency=st.sampled_from(WITH_EXPONENT),
)
def test_minor_units_round_trip_exactly(units: int, currency: str) -> None:
    """Any int, however large, comes back unchanged: no 28-digit rounding on the way."""
    money = Money.from_minor_units(units, currency)
    assert money.minor_units == units
    assert money.to_minor_units() == units


@given(
    units=st.integers(min_value=-(10**40), max_value=10**40),
    exponent=st.integers(min_value=0, max_value=18),
)
def test_a_providers_own_exponent_round_trips(units: int, exponent: int) -> None:
    """A provider whose table differs from ISO passes its exponent both ways."""
    money = Money.from_minor_units(units, "USD", exponent=exponent)
    assert money.to_minor_units(exponent) == units
    sign, digits, places = money.amount.as_tuple()
    assert places == -exponent
    assert (-1 if sign else 1) * int("".join(map(str, digits))) == units


@given(
    amount=st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
def test_amounts_within_the_exponent_convert(amount: Decimal) -> None:
    """Every amount with at most the currency's places has a minor-unit value."""
    money = Money(amount, "INR")
    assert Money.from_minor_units(money.minor_units, "INR") == money


@pytest.mark.parametrize(
    ("amount", "currency", "limit"),
    [
        ("1.001", "USD", "2 decimal places (USD)"),
        ("0.5", "JPY", "0 decimal places (JPY)"),
        ("1.0001", "KWD", "3 decimal places (KWD)"),
    ],
)
def test_more_places_than_the_exponent_are_refused(amount: str, currency: str, limit: str) -> None:
    """An amount that does not fit the minor unit is a ValidationError naming the field."""
    with pytest.raises(ValidationError) as info:
        Money(amount, currency).to_minor_units()
    assert info.value.field == "amount"
    assert info.value.limit == limit


def test_trailing_zeros_beyond_the_exponent_fit() -> None:
    """``1.100`` USD is 110 cents: zeros past the exponent change nothing."""
    assert Money("1.100", "USD").minor_units == 110
    assert Money("1E+3", "USD").minor_units == 100000


@pytest.mark.parametrize("currency", WITHOUT_EXPONENT[:3])
def test_a_currency_without_minor_unit_needs_an_exponent(currency: str) -> None:
    """Gold or SDR have no ISO minor unit: the exponent must be given."""
    with pytest.raises(ValidationError) as info:
        Money.from_minor_units(5, currency)
    assert info.value.field == "currency"
    assert Money.from_minor_units(5, currency, exponent=3).to_minor_units(3) == 5


@pytest.mark.parametrize("value", [True, 1.0, "100", Decimal(100), None])
def test_minor_units_must_be_an_int(value: object) -> None:
    """A bool, float, str or Decimal is not a count of minor units."""
    with pytest.raises(ValidationError) as info:
        Money.from_minor_units(value, "USD")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize("exponent", [-1, 19, True, 2.0])
def test_a_bad_exponent_is_refused(exponent: object) -> None:
    """The exponent is an int from 0 to 18."""
    with pytest.raises(ValidationError) as info:
        Money.from_minor_units(5, "USD", exponent=exponent)  # type: ignore[arg-type]
    assert info.value.field == "exponent"
