"""Parse a JSON object's top level while keeping each member's raw text span.

Paykassma signs the JSON text of one member of a postback exactly as it was written, so
the verifier must hash the member's bytes as they arrived, never a re-serialisation.
:func:`scan_object` walks the top-level object with the C scanner that
``json.JSONDecoder.raw_decode`` uses, one member value at a time, and records where each
value starts and ends: one pass parses the body and finds the signed text.
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from payplane.exceptions import MalformedPayloadError

__all__ = ["ScanOnce", "decimal_scanner", "exact_number", "loads", "scan_object", "strict_scanner"]

ScanOnce = Callable[[str, int], tuple[Any, int]]
"""A JSON value scanner: ``(text, start) -> (value, end)`` (``JSONDecoder.scan_once``)."""

# The C string scanner json uses; typeshed does not declare it.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

# JSON's four whitespace characters (RFC 8259); `json.decoder.WHITESPACE` is the same set.
_WS = " \t\n\r"
_WS_RUN = re.compile(r"[ \t\n\r]+")
_NO_SCANNERS: Mapping[str, ScanOnce] = {}


def _skip(text: str, idx: int) -> int:
    """Return the offset of the first non-whitespace character at or after *idx*."""
    # Compact bodies (what PHP writes) have no whitespace: test one character before
    # paying for a regex match. ("" is `in` every string: harmless at the end.)
    if text[idx : idx + 1] in _WS:
        match = _WS_RUN.match(text, idx)
        if match is not None:
            return match.end()
    return idx


def _reject_constant(name: str) -> Any:  # noqa: ANN401 - a json.JSONDecoder hook
    # Python's json accepts NaN and Infinity; JSON and Paykassma do not, and an amount must
    # be finite.
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def exact_number(text: str) -> Decimal:
    """Read a JSON number with a fraction or exponent as ``Decimal`` (a ``parse_float``).

    Raises:
        ValueError: an exponent beyond what ``Decimal`` represents
            (``1e9999999999999999999``), where ``Decimal`` itself raises
            ``InvalidOperation``, which a JSON scanner would let escape.
    """
    try:
        return Decimal(text)
    except InvalidOperation:
        msg = f"the number {text:.40} is out of range"
        raise ValueError(msg) from None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                msg = f"the member {name!r} appears twice in one object"
                raise ValueError(msg)
            seen.add(name)
    return members


_DECIMAL_DECODER = json.JSONDecoder(parse_float=exact_number, parse_constant=_reject_constant)
decimal_scanner: ScanOnce = _DECIMAL_DECODER.scan_once  # type: ignore[attr-defined]
"""Scans one JSON value; numbers with a fraction or exponent become ``Decimal``."""

strict_scanner: ScanOnce = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_float=exact_number, parse_constant=_reject_constant, object_pairs_hook=_unique_members
).scan_once
""":data:`decimal_scanner` that also refuses a member name repeated in any object.

For a signed member: which of two values a signature covers would be ambiguous (json
keeps the last; another reader may keep the first). It costs more than
:data:`decimal_scanner`, so it is used only where a signature depends on it.
"""


def loads(text: str | bytes) -> Any:  # noqa: ANN401 - JSON is untyped until structured
    """Parse a whole JSON document, numbers with a fraction as ``Decimal``.

    Raises:
        MalformedPayloadError: not UTF-8 or not JSON (NaN and Infinity refused).
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _DECIMAL_DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        problem = f"not a JSON document: {_describe(exc)}"
    raise MalformedPayloadError(problem)  # outside the except block: see _NO_CONTEXT


# _NO_CONTEXT: a parser's error (JSONDecodeError.doc, UnicodeDecodeError.object) holds the
# whole body, the postback access key included. The errors raised here are raised after
# the except block, so that not even a suppressed __context__ carries it on.


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 at byte {exc.start}"
    return str(exc)


def _fail(what: str, text: str, idx: int) -> MalformedPayloadError:
    found = repr(text[idx : idx + 1]) if idx < len(text) else "the end of the body"
    msg = f"not a JSON object: expected {what} at offset {idx}, found {found}"
    return MalformedPayloadError(msg)


def _name(text: str, idx: int) -> tuple[str, int]:
    """Read a member name and its colon at *idx*; return it and where its value starts."""
    if text[idx : idx + 1] != '"':
        raise _fail("a member name", text, idx)
    problem = None
    try:
        key, idx = _scanstring(text, idx + 1)
    except ValueError as exc:
        problem = f"not a JSON object: {exc}"
    if problem is not None:
        raise MalformedPayloadError(problem)  # outside the except block: see _NO_CONTEXT
    idx = _skip(text, idx)
    if text[idx : idx + 1] != ":":
        raise _fail("':'", text, idx)
    return key, _skip(text, idx + 1)


def scan_object(
    text: str,
    scanners: Mapping[str, ScanOnce] | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """Parse *text*, which must hold one JSON object, member by member.

    Args:
        text: The whole document.
        scanners: Scanners for particular top-level members; every other value is read
            with :data:`decimal_scanner`.

    Returns:
        The members by name, and each member value's ``(start, end)`` offsets in *text*:
        ``text[start:end]`` is the value's raw JSON text.

    Raises:
        MalformedPayloadError: *text* is not exactly one JSON object, or repeats a
            top-level member name (which value a signature covers would be ambiguous).
    """
    special = scanners or _NO_SCANNERS
    members: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    # The hot path of every postback, for the compact bodies PHP writes: no whitespace,
    # no error. At the first thing it does not expect it hands the whole text over to
    # the general walk below, which decides (and words any error) on its own.
    try:
        if text[0] == "{" and text[1] == '"':
            idx = 1
            while text[idx] == '"':
                key, idx = _scanstring(text, idx + 1)
                if text[idx] != ":" or key in members:
                    break
                idx += 1
                members[key], end = special.get(key, decimal_scanner)(text, idx)
                spans[key] = (idx, end)
                char = text[end]
                if char == ",":
                    idx = end + 1
                elif char == "}" and end + 1 == len(text):
                    return members, spans
                else:
                    break
    except (IndexError, ValueError, StopIteration, RecursionError):
        pass
    return _walk_object(text, special)


def _walk_object(
    text: str, special: Mapping[str, ScanOnce]
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """:func:`scan_object` for any text: whitespace anywhere, errors worded."""
    members: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    idx = _skip(text, 0)
    if text[idx : idx + 1] != "{":
        raise _fail("'{'", text, idx)
    idx = _skip(text, idx + 1)
    if text[idx : idx + 1] == "}":
        idx += 1
    else:
        while True:
            key, idx = _name(text, idx)
            if key in members:
                msg = f"the member {key!r} appears twice"
                raise MalformedPayloadError(msg)
            members[key], end = _value(special.get(key, decimal_scanner), key, text, idx)
            spans[key] = (idx, end)
            idx = _skip(text, end)
            char = text[idx : idx + 1]
            if char == ",":
                idx = _skip(text, idx + 1)
            elif char == "}":
                idx += 1
                break
            else:
                raise _fail("',' or '}'", text, idx)
    idx = _skip(text, idx)
    if idx != len(text):
        raise _fail("the end of the body", text, idx)
    return members, spans


def _value(scan: ScanOnce, key: str, text: str, idx: int) -> tuple[Any, int]:
    try:
        return scan(text, idx)
    except StopIteration as exc:
        error = _fail("a JSON value", text, exc.value)
    except (ValueError, RecursionError) as exc:
        error = MalformedPayloadError(f"not a JSON object: member {key!r}: {_describe(exc)}")
    raise error  # outside the except block: see _NO_CONTEXT
