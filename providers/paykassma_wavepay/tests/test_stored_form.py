"""The converted-amount map's stored form: the inbox's JSON without a Money per entry."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from payplane_paykassma_wavepay._wire import ConvertedAmounts

codes = st.from_regex(r"[A-Z][A-Z0-9]{1,11}", fullmatch=True)
integers = st.integers(min_value=-(10**30), max_value=10**30).map(str) | st.just("-0")
fractions = st.decimals(allow_nan=False, allow_infinity=False, places=6).map(
    lambda d: format(d, "f")
)
exponents = st.builds(
    lambda m, e: f"{m}{'e' if e % 2 else 'E'}{e}",
    st.sampled_from(["1", "-2.5", "0.0", "7.125"]),
    st.integers(min_value=-30, max_value=30),
)
numbers = integers | fractions | exponents


def _materialized(text: str) -> dict[str, dict[str, str]]:
    amounts = ConvertedAmounts.from_json(text, json.loads(text))
    return {code: money.to_dict() for code, money in amounts.items()}


@given(st.lists(st.tuples(codes, numbers), max_size=30), st.booleans())
def test_stored_form_equals_the_amounts_to_dict(
    entries: list[tuple[str, str]], spaced: bool
) -> None:
    """__payplane_json__ gives exactly {code: Money.to_dict()}, repeats and spacing included."""
    separator = ", " if spaced else ","
    text = "{" + separator.join(f'"{code}":{number}' for code, number in entries) + "}"
    amounts = ConvertedAmounts.from_json(text, json.loads(text))
    assert amounts.__payplane_json__() == _materialized(text)
    as_text = ConvertedAmounts.from_json(text, json.loads(text)).__payplane_json_text__()
    if as_text is not None:
        assert as_text == json.dumps(_materialized(text), separators=(",", ":"))
    plain = not spaced and len({code for code, _ in entries}) == len(entries)
    # The pre-check is conservative: a digit before an E anywhere (a code such as "A0E"
    # too, which no ISO 4217 code is) sends the map down the exact path.
    if plain and not re.search(r"[0-9][eE]|-0[,}]", text):
        assert as_text is not None  # the common case takes the fast path


def test_exponent_and_negative_zero_take_the_exact_path() -> None:
    """Texts whose Decimal form differs from the JSON text are written as Decimal prints them."""
    text = '{"USD":1.0E-5,"MMK":-0,"EUR":0.50}'
    stored = ConvertedAmounts.from_json(text, json.loads(text)).__payplane_json__()
    assert stored == {
        "USD": {"amount": str(Decimal("1.0E-5")), "currency": "USD"},
        "MMK": {"amount": "0", "currency": "MMK"},
        "EUR": {"amount": "0.50", "currency": "EUR"},
    }
