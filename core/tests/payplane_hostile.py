"""Hypothesis strategies for hostile JSON *text*: odd strings, odd numbers, deep nesting,
duplicate member names. They draw raw JSON text (not Python values), so the text can hold
what a Python round trip would normalise away: lone surrogate escapes, duplicate names,
numbers no float can hold, and UTF-8 that is not valid."""

from __future__ import annotations

import json

from hypothesis import strategies as st

ODD_PIECES = (
    "\ud800",  # lone high surrogate
    "\udfff",  # lone low surrogate
    "\ud83d\ude00",  # a valid pair, escaped: one non-BMP character
    "\x00",
    "a\x00b",
    "\x01\x1f\x7f\x9f",
    "\u2028\u2029",
    "\ufeff",
    "\ufffe\uffff",
    "\U0001f600",
    "\U0010ffff",
    "\\",
    '"',
    "\\u0000",  # the six characters, not NUL
    "</script>",
    "%00",
    "\r\n\t",
)

odd_text = st.one_of(
    st.text(max_size=16),
    st.sampled_from(ODD_PIECES),
    st.lists(
        st.one_of(
            st.sampled_from(ODD_PIECES),
            st.characters(categories=["Cs"]),
            st.characters(categories=["Cc", "Cf", "Co", "Cn", "Zl", "Zp"]),
            st.characters(min_codepoint=0x10000),
        ),
        min_size=1,
        max_size=8,
    ).map("".join),
    st.integers(min_value=1, max_value=6000).map(lambda n: "long" * n),
)
"""Text a sender may put in a JSON string: lone surrogates, NUL and other controls,
non-characters, non-BMP, JSON's own metacharacters, and long strings."""


@st.composite
def json_string(draw: st.DrawFn, text: st.SearchStrategy[str] = odd_text) -> str:
    """The JSON text of a string drawn from *text*, escaped as ASCII or written raw.

    Written raw (as PHP's ``JSON_UNESCAPED_UNICODE`` does), a lone surrogate makes the body
    invalid UTF-8 once encoded with ``surrogatepass``: another kind of hostile body, drawn
    one time in eight so that most bodies still reach the store.
    """
    value = draw(text)
    raw = draw(st.booleans())
    if raw and not keepable_utf8(value):
        raw = draw(st.integers(min_value=0, max_value=7)) == 0
    return json.dumps(value, ensure_ascii=not raw)


def keepable_utf8(text: str) -> bool:
    """Whether *text* encodes as UTF-8 (holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


json_number = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "0.0",
            "1e999999",
            "-1e999999",
            "1E-999999",
            "1e308",
            "1e-400",
            "123.456e7",
            "0.1",
            "-1",
            "1" + "0" * 60,
            "9" * 4300,  # the longest integer Python converts by default
            "9" * 4301,  # one digit more: the parser refuses it
            "0." + "3" * 200,
        ]
    ),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
"""JSON number text, huge, tiny, long and exact."""


@st.composite
def deep_json(draw: st.DrawFn, max_depth: int = 1500) -> str:
    """Arrays or objects nested up to *max_depth* levels."""
    depth = draw(st.integers(min_value=1, max_value=max_depth))
    if draw(st.booleans()):
        return "[" * depth + "]" * depth
    return '{"d":' * depth + "0" + "}" * depth


def json_value(max_depth: int = 1500) -> st.SearchStrategy[str]:
    """JSON value text: an odd string, an odd number, a literal, or deep nesting."""
    return st.one_of(
        json_string(),
        json_number,
        st.sampled_from(["null", "true", "false", "[]", "{}", '""']),
        deep_json(max_depth),
    )


@st.composite
def members(draw: st.DrawFn, max_size: int = 3, max_depth: int = 1500) -> list[tuple[str, str]]:
    """Extra ``(name text, value text)`` members, names odd; one time in four one repeats."""
    drawn = draw(st.lists(st.tuples(json_string(), json_value(max_depth)), max_size=max_size))
    if drawn and draw(st.integers(min_value=0, max_value=3)) == 0:
        name, _ = drawn[0]
        drawn.append((name, draw(json_value(max_depth))))  # a duplicate member name
    return drawn


def json_object(pairs: list[tuple[str, str]]) -> str:
    """The JSON text of an object of raw ``(name text, value text)`` pairs, in order."""
    return "{" + ",".join(f"{name}:{value}" for name, value in pairs) + "}"


def encode(text: str) -> bytes:
    """*text* as body bytes; a raw lone surrogate becomes bytes that are not UTF-8."""
    return text.encode("utf-8", "surrogatepass")
