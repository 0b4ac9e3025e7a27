"""Settings from the command line take their field's type: strictly, naming the setting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import Secret, secret_field
from payplane._cli_settings import convert, parse_pairs, read_settings
from payplane.exceptions import ConfigurationError


@attrs.frozen(kw_only=True)
class Settings:
    """A settings class with one field of each converted type, and string annotations."""

    token: Secret = secret_field()
    host: str
    limit: int = 10
    ratio: float = 0.5
    fee: Decimal = Decimal("0.10")
    strict: bool = False
    maybe: int | None = None


def _read(given: dict[str, str], environ: dict[str, str] | None = None) -> dict[str, object]:
    return read_settings(
        "demo_psp",
        Settings,
        ("token",),
        given,
        "--setting",
        environ={} if environ is None else environ,
    )


def test_integer_setting_becomes_an_int() -> None:
    """limit=100000 from the command line reaches the settings class as an int."""
    values = _read({"token": "t-123456", "host": "h", "limit": "100000"})
    assert values["limit"] == 100000
    assert Settings(**values).limit == 100000  # type: ignore[arg-type]


def test_environment_values_are_converted_too() -> None:
    """PAYPLANE_<PROVIDER>_<NAME> values take the field's type as options do."""
    environ = {
        "PAYPLANE_DEMO_PSP_TOKEN": "t-123456",
        "PAYPLANE_DEMO_PSP_HOST": "h",
        "PAYPLANE_DEMO_PSP_MAYBE": "7",
        "PAYPLANE_DEMO_PSP_STRICT": "yes",
    }
    values = _read({}, environ)
    assert (values["maybe"], values["strict"]) == (7, True)


def test_option_wins_over_environment() -> None:
    """A --setting value replaces the environment's."""
    environ = {"PAYPLANE_DEMO_PSP_LIMIT": "5"}
    assert _read({"token": "t-123456", "host": "h", "limit": "6"}, environ)["limit"] == 6


@pytest.mark.parametrize(
    ("annotation", "text", "expected"),
    [
        (int, "-12", -12),
        (int, "+7", 7),
        (float, "2.5", 2.5),
        (float, "1e3", 1000.0),
        (Decimal, "0.10", Decimal("0.10")),
        (bool, "TRUE", True),
        (bool, "off", False),
        (int | None, "3", 3),
        (str, " as is ", " as is "),
        (Secret, "key", "key"),
        ("SomeUnresolvedName", "text", "text"),
    ],
)
def test_conversions(annotation: Any, text: str, expected: object) -> None:
    """Each converted type, Optional unwrapped; other types keep the text."""
    assert (expected, None) == convert(annotation, text)


@pytest.mark.parametrize(
    ("annotation", "text"),
    [
        (int, "1_000"),
        (int, "\u0661\u0660\u0660"),  # Arabic-Indic digits
        (int, "\uff11\uff10\uff10"),  # fullwidth digits
        (int, " 100"),
        (int, "1e5"),
        (int, "1.0"),
        (int, ""),
        (int, "1" * 101),
        (float, "nan"),
        (float, "inf"),
        (float, "1e99999"),
        (float, "1_0.5"),
        (Decimal, "NaN"),
        (Decimal, "1,5"),
        (bool, "maybe"),
        (bool, ""),
    ],
)
def test_refused_text(annotation: Any, text: str) -> None:
    """Text that is not plainly of the type is refused with what was expected."""
    _, expected = convert(annotation, text)
    assert expected


@given(st.integers(min_value=-(10**99), max_value=10**99))
def test_integers_round_trip(number: int) -> None:
    """Every integer written in decimal converts back to itself."""
    assert (number, None) == convert(int, str(number))


@given(st.text(max_size=12))
def test_integer_text_is_ascii_digits_or_refused(text: str) -> None:
    """Any text converts to an int only when it is an optional sign and ASCII digits."""
    value, expected = convert(int, text)
    plain = text.lstrip("+-") if text[:1] in {"+", "-"} else text
    if plain and plain.isascii() and plain.isdigit():
        assert (int(text), None) == (value, expected)
    else:
        assert (value, expected is not None) == (text, True)


def test_bad_value_names_the_setting_and_its_source() -> None:
    """A refused value names the setting, where it came from and what it must be."""
    with pytest.raises(ConfigurationError) as caught:
        _read({"token": "t-123456", "host": "h"}, {"PAYPLANE_DEMO_PSP_LIMIT": "10k"})
    assert caught.value.field == "limit"
    assert "setting limit (from PAYPLANE_DEMO_PSP_LIMIT) must be an integer" in caught.value.message
    assert "'10k'" in caught.value.message


def test_unknown_setting_lists_known_ones() -> None:
    """An unknown name is refused with every known setting listed."""
    with pytest.raises(ConfigurationError, match="known settings: fee, host, limit") as caught:
        _read({"limt": "1"})
    assert caught.value.field == "limt"


def test_key_outside_the_keys_is_refused() -> None:
    """With only=keys, a non-key name is refused with the keys listed."""
    with pytest.raises(ConfigurationError, match="known keys: token"):
        read_settings("demo_psp", Settings, ("token",), {"host": "h"}, "--key", only=("token",))


def test_missing_required_settings_name_their_variables() -> None:
    """Fields without a default are required; each is named with its variable."""
    with pytest.raises(ConfigurationError, match=r"host \(PAYPLANE_DEMO_PSP_HOST\)"):
        _read({"token": "t-123456"})


def test_not_required_leaves_absent_fields_out() -> None:
    """require=False reads what is there and demands nothing."""
    values = read_settings(
        "demo_psp", Settings, ("token",), {}, "--key", only=("token",), require=False, environ={}
    )
    assert values == {}


def test_pairs_without_equals_never_echo_the_value() -> None:
    """A NAME=VALUE option without '=' is refused without showing what was typed."""
    with pytest.raises(ConfigurationError, match="expects NAME=VALUE") as caught:
        parse_pairs(["s3cr3t-value"], "--key")
    assert "s3cr3t" not in caught.value.message
