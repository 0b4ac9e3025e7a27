r"""One mechanism that keeps secret values out of every view payplane shows or stores.

* :class:`Redactor` knows every form a secret takes in text: as is, percent-encoded,
  with any subset of its characters JSON- or Python-escaped (``\/``, ``\u00e9``,
  surrogate pairs, ``\x41``, escapes of escapes), one inside the other, ``+`` for a
  space, and base64 (HTTP Basic's ``key_id:secret``) for secrets of seven bytes or more.
  :meth:`Redactor.redact_value` applies it to nested data (results, ``raw`` mappings).
* :func:`redact_exception` rewrites an error and its whole chain of causes;
  :func:`redact_headers` masks credential headers.
* :data:`LIVE` holds the values of every living :class:`~payplane.Secret`; a chained
  log-record factory redacts every record of every logger against them, and ``repr()``
  of HTTP descriptions uses them.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import functools
import logging
import re
import string
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar, cast

import attrs

from payplane._money import Money
from payplane.exceptions import PayplaneError, RedactedCause

__all__ = [
    "LIVE",
    "REDACTED",
    "Redactor",
    "describe_exception",
    "is_sensitive_header",
    "redact_exception",
    "redact_headers",
    "redact_record",
    "redactor_for",
]

REDACTED = "***"

T = TypeVar("T")

# -- the forms of one secret -------------------------------------------------------------

# One to fifteen backslashes: an escape, or an escape of an escape (JSON inside JSON) up to
# four levels deep; bounded, so a hostile run of backslashes costs linear time. A literal
# first, so that the regex engine skips quickly to candidate positions.
_BACKSLASHES = r"\\\\{0,14}"
# The same backslashes percent-encoded: escaped text inside a URL.
_PERCENT_BACKSLASHES = r"%5[cC](?:%5[cC]){0,14}"
# The character after a backslash in JSON's and Python's short escapes.
_SHORT_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "\b": "b",
    "\f": "f",
    "\n": "n",
    "\r": "r",
    "\t": "t",
}
# Base64 runs shorter than this are too likely to occur by chance in other base64 data.
_MIN_BASE64_CORE = 8
_BASE64_TOKEN = frozenset(string.ascii_letters + string.digits + "+/=-_\\%")
_URLSAFE = str.maketrans("+/", "-_")


def _hex(number: int, width: int) -> str:
    """Hex digits of *number* as a pattern matching either case (``%2f`` and ``%2F``)."""
    return "".join(
        f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in f"{number:0{width}x}"
    )


# A percent sign (once or twice encoded), itself possibly JSON-escaped.
_PERCENT = r"(?:%|\\\\{0,14}(?:u0025|x25))(?:25)?"
# Backslashes as is or percent-encoded (escaped text inside a URL).
_ANY_BACKSLASHES = rf"(?:{_BACKSLASHES}|{_PERCENT_BACKSLASHES})"


@functools.cache
def _hex_digit(digit: str) -> str:
    """A hex digit of a percent-escape, either case, as is or itself JSON-escaped."""
    cases = sorted({digit.lower(), digit.upper()})
    codes = "|".join(f"{ord(case):02x}" for case in cases)
    return rf"(?:[{''.join(cases)}]|{_BACKSLASHES}(?:u00(?:{codes})|x(?:{codes})))"


def _percent(data: bytes) -> str:
    """*data* percent-encoded, its ``%`` and digits possibly JSON-escaped.

    The caller puts the first ``%``.
    """
    return _PERCENT.join("".join(_hex_digit(digit) for digit in f"{byte:02x}") for byte in data)


def _escape_tails(char: str, utf8: bytes) -> list[str]:
    """What follows the backslashes of *char*'s JSON and Python escapes.

    ``{bs}`` stands for the backslashes of a second escape (a surrogate pair, the bytes
    of a character).
    """
    code = ord(char)
    if code < 0x10000:  # noqa: PLR2004 - the Basic Multilingual Plane
        tails = [f"u{_hex(code, 4)}"]
    else:
        high, low = divmod(code - 0x10000, 0x400)
        tails = [f"U{_hex(code, 8)}", f"u{_hex(0xD800 + high, 4)}{{bs}}u{_hex(0xDC00 + low, 4)}"]
    if code < 0x100:  # noqa: PLR2004 - Python's \xNN
        tails.append(f"x{_hex(code, 2)}")
    if len(utf8) > 1:  # the repr of its UTF-8 bytes
        tails.append("{bs}".join(f"x{_hex(byte, 2)}" for byte in utf8))
    if char in _SHORT_ESCAPES:  # the letter after the backslash, percent-encoded in a URL
        short = _SHORT_ESCAPES[char]
        tails.append(f"(?:{re.escape(short)}|%{_hex(ord(short), 2)})")
    return [tail.replace("{bs}", _ANY_BACKSLASHES) for tail in tails]


def _char_forms(char: str, *, first: bool = False) -> str:
    r"""A pattern for every way *char* is written in text payplane shows or stores.

    As is; ``+`` for a space; percent-encoded (once or twice); as a JSON or Python escape
    (``\/``, ``\u00e9``, a surrogate pair, ``\U0001f600``, ``\xe9``, ``\xc3\xa9``) behind
    up to fifteen backslashes (escapes of escapes: JSON inside JSON); and one level of
    one inside the other (``\u0025`` for the ``%`` of a percent-escape in a JSON answer,
    ``%5C`` for the backslash of an escape in a URL).

    With *first*, each alternative starts with a literal character (the character
    itself, ``+``, ``%`` or ``\``), which lets the regex engine skip quickly to the
    positions where a match can start.
    """
    forms = [re.escape(char)]
    if char == " ":
        forms.append(r"\+")  # application/x-www-form-urlencoded
    try:
        utf8 = char.encode()
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
        utf8 = b""
    tails = "(?:" + "|".join(_escape_tails(char, utf8)) + ")"
    if first:
        if utf8:
            forms.extend(
                (
                    f"%(?:25)?{_percent(utf8)}",
                    rf"{_BACKSLASHES}(?:u0025|x25)(?:25)?{_percent(utf8)}",
                )
            )
        forms.extend((_BACKSLASHES + tails, _PERCENT_BACKSLASHES + tails))
    else:
        if utf8:
            forms.append(_PERCENT + _percent(utf8))
        forms.append(_ANY_BACKSLASHES + tails)
    return "(?:" + "|".join(forms) + ")"


@functools.lru_cache(maxsize=512)
def _secret_pattern(secret: str) -> str:
    """A pattern matching *secret* with any subset of its characters in any of their forms.

    The first character's alternatives each start with a literal, so the engine scans for
    the few characters a match can start with.
    """
    return _char_forms(secret[0], first=True) + "".join(map(_char_forms, secret[1:]))


def _base64_cores(secret: str) -> set[str]:
    """The base64 characters that *secret*'s bytes alone decide, at each of three offsets.

    Base64 maps three bytes to four characters, so a secret inside encoded data (HTTP
    Basic's ``base64(key_id:secret)``) shows, depending on its offset modulo three, one
    of three runs of characters whatever surrounds it.
    """
    data = secret.encode("utf-8", "surrogatepass")
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start = -(-8 * offset // 6)  # the first character with no bit of the padding
        end = 8 * (offset + len(data)) // 6  # past the last with no bit of what follows
        core = encoded[start:end]
        if len(core) >= _MIN_BASE64_CORE:
            cores.update((core, core.translate(_URLSAFE)))
    return cores


# In a base64 run only these are ever escaped (JSON's "\/", percent-encoding in a URL).
_BASE64_ESCAPED = re.compile(r"([+/=-])")


def _base64_pattern(cores: Iterable[str]) -> str:
    """Patterns of base64 runs: letters and digits as is, ``+/=-`` in any of their forms."""
    return "|".join(
        "".join(
            _char_forms(part) if _BASE64_ESCAPED.fullmatch(part) else part
            for part in _BASE64_ESCAPED.split(core)
            if part
        )
        for core in cores
    )


def _base64_anchor(core: str) -> str:
    """The longest run of a core that is never escaped: present in every form of it."""
    return max(_BASE64_ESCAPED.split(core), key=len)


def _longest_first(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(texts), key=lambda text: (-len(text), text)))


def _quick_pattern(secrets: tuple[str, ...], anchors: tuple[str, ...], specials: str) -> str:
    """A pattern of what every form of every secret holds as is.

    The secret itself, a base64 anchor of it, or the first character of an escape. One
    scan looks for them all, which costs less than a substring search per form on short
    answers.
    """
    return "|".join(map(re.escape, (*secrets, *anchors, *specials)))


class _TextForms:
    """The compiled forms of a set of secrets."""

    __slots__ = ("_base64", "_cores", "anchors", "quick", "secrets", "specials")

    def __init__(self, secrets: tuple[str, ...], cores: tuple[str, ...], specials: str) -> None:
        self.anchors: tuple[str, ...] = _longest_first(map(_base64_anchor, cores))
        self.specials = specials
        self.quick = re.compile(_quick_pattern(secrets, self.anchors, specials))
        # One pattern per secret: one for all would have to repeat every secret's
        # pattern once per form of its first character to keep the engine's fast scan.
        self.secrets = tuple(re.compile(_secret_pattern(secret)) for secret in secrets)
        self._cores = cores
        self._base64: re.Pattern[str] | None = None

    @property
    def base64(self) -> re.Pattern[str]:
        """The base64 pattern, compiled when an anchor first shows."""
        if self._base64 is None:
            self._base64 = re.compile(_base64_pattern(self._cores))
        return self._base64

    def base64_in(self, text: str) -> bool:
        """Whether an anchor of a base64 form shows in *text* (the pattern may match)."""
        return any(anchor in text for anchor in self.anchors)

    def found_in(self, text: str) -> bool:
        """Whether *text*, which the quick scan matched, shows a secret."""
        if any(pattern.search(text) is not None for pattern in self.secrets):
            return True
        return self.base64_in(text) and self.base64.search(text) is not None


class Redactor:
    r"""Replaces secrets in text, in every form they take; the forms are worked out once.

    A secret is found as is, percent-encoded (``quote``, ``quote_plus``, twice encoded,
    either case of hex), and with any subset of its characters written as JSON or Python
    escapes (``\/``, ``\"``, ``\u00e9``, ``\ud83d\ude00``, ``\x41``), behind up to
    fifteen backslashes (``\\u0041``: JSON inside JSON), in any mix, and one level of
    one inside the other (a percent-encoded secret in a JSON answer with its ``%`` and
    digits written ``\u0025``, an escaped one in a URL with its backslashes as ``%5C``).
    A secret of seven bytes or more is also found base64-encoded inside other data (HTTP
    Basic credentials ``base64(key_id:secret)``, standard or URL-safe alphabet, ``/``,
    ``+`` and ``=`` possibly escaped): the whole base64 run is replaced. Where secrets
    overlap or one contains another, every character of each is hidden.

    Not found: encodings no encoder produces of its own accord, such as the letters of
    a base64 run or the backslash of an escape written as ``\u`` escapes, and secrets
    transformed otherwise (hashed, reversed, split).

    Text in which no secret, no base64 anchor of one, no backslash and no percent sign
    (nor a ``+`` when a secret holds a space) occurs cannot show a secret: one scan
    decides, and the full patterns run only for the other texts. Patterns are compiled
    on first use.

    Args:
        secrets: The secret values (empty strings are ignored).
    """

    __slots__ = (
        "_base64",
        "_bytes_quick",
        "_plain",
        "_plain_bytes",
        "_shortest",
        "_specials",
        "_text_forms",
        "secrets",
    )

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets: tuple[str, ...] = _longest_first(s for s in secrets if s)
        """The secrets, longest first."""
        self._plain = frozenset(self.secrets)
        self._plain_bytes = frozenset(s.encode("utf-8", "surrogatepass") for s in self.secrets)
        self._base64 = _longest_first(core for s in self.secrets for core in _base64_cores(s))
        # Every form of a character is one character or more: no text shorter than the
        # shortest secret (or base64 run) can show one.
        self._shortest = min(map(len, (*self.secrets, *self._base64)), default=0)
        # Every form but the plain one starts with one of these characters.
        self._specials = "%\\" + ("+" if any(" " in s for s in self.secrets) else "")
        self._text_forms: _TextForms | None = None
        self._bytes_quick: re.Pattern[bytes] | None = None

    @property
    def forms(self) -> tuple[str, ...]:
        """The plain forms: the secrets, longest first."""
        return self.secrets

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __repr__(self) -> str:
        return f"<Redactor of {len(self.secrets)} secrets>"

    def _text(self) -> _TextForms:
        if self._text_forms is None:
            self._text_forms = _TextForms(self.secrets, self._base64, self._specials)
        return self._text_forms

    def _quick_bytes(self) -> re.Pattern[bytes]:
        if self._bytes_quick is None:
            anchors = _longest_first(map(_base64_anchor, self._base64))
            pattern = _quick_pattern(self.secrets, anchors, self._specials)
            self._bytes_quick = re.compile(pattern.encode("utf-8", "surrogatepass"))
        return self._bytes_quick

    # -- finding -------------------------------------------------------------------------

    def found_in(self, data: str | bytes) -> bool:
        """Whether *data* (text, or bytes in UTF-8) shows any secret in any form."""
        if not self.secrets or len(data) < self._shortest:
            return False
        if isinstance(data, str):
            forms = self._text()
            match = forms.quick.search(data)
            if match is None:
                return False
            return match.group() in self._plain or forms.found_in(data)
        quick = self._quick_bytes().search(data)
        if quick is None:
            return False
        if quick.group() in self._plain_bytes:  # a secret as is: no need to look further
            return True
        return self._text().found_in(data.decode("utf-8", "surrogateescape"))

    # -- replacing -----------------------------------------------------------------------

    def __call__(self, text: str) -> str:
        """Return *text* with every form of every secret replaced by ``***``.

        Returns *text* itself (the same object) when it shows no secret.
        """
        if not self.secrets or len(text) < self._shortest:
            return text
        forms = self._text()
        if forms.quick.search(text) is None:
            return text
        base64_here = forms.base64_in(text)
        if base64_here or any(char in text for char in forms.specials):
            spans = [match.span() for pattern in forms.secrets for match in pattern.finditer(text)]
            if base64_here:
                spans.extend(_token(text, *m.span()) for m in forms.base64.finditer(text))
        else:  # only plain forms can occur: substring searches
            spans = [span for secret in self.secrets for span in _occurrences(text, secret)]
        return _replaced(text, spans)

    def redact_bytes(self, data: bytes) -> bytes:
        """Return *data* (UTF-8, undecodable bytes kept) with every secret replaced."""
        if not self.found_in(data):
            return data
        text = data.decode("utf-8", "surrogateescape")
        return self(text).encode("utf-8", "surrogateescape")

    def redact_value(self, value: T) -> T:
        """Return *value* with secrets replaced in every string it holds, at any depth.

        Walks strings, bytes, mappings (keys too), lists, tuples, sets and attrs instances
        (rebuilt with ``attrs.evolve``); anything else is kept as is. Returns *value*
        itself when nothing changed. Deep data is walked without recursion.
        """
        if not self.secrets:
            return value
        return cast("T", _walk(value, self))


def _occurrences(text: str, secret: str) -> Iterator[tuple[int, int]]:
    """The spans of every occurrence of *secret* in *text*, overlapping ones included."""
    start = text.find(secret)
    while start >= 0:
        yield start, start + len(secret)
        start = text.find(secret, start + 1)


def _replaced(text: str, spans: list[tuple[int, int]]) -> str:
    """*text* with each run of overlapping or adjacent *spans* replaced by one ``***``."""
    if not spans:
        return text
    spans.sort()
    parts: list[str] = []
    done = 0
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start <= end:
            end = max(end, next_end)
            continue
        parts.extend((text[done:start], REDACTED))
        done, start, end = end, next_start, next_end
    parts.extend((text[done:start], REDACTED, text[end:]))
    return "".join(parts)


def _token(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a base64 match to the whole run of base64 characters around it."""
    while start > 0 and text[start - 1] in _BASE64_TOKEN:
        start -= 1
    while end < len(text) and text[end] in _BASE64_TOKEN:
        end += 1
    return start, end


@functools.lru_cache(maxsize=128)
def _cached_redactor(secrets: frozenset[str]) -> Redactor:
    return Redactor(secrets)


def redactor_for(secrets: Iterable[str]) -> Redactor:
    """Return a :class:`Redactor` of *secrets*, shared with earlier calls for the same set."""
    return _cached_redactor(frozenset(s for s in secrets if s))


# -- nested values ------------------------------------------------------------------------


# Values that hold no text: numbers, instants, enums, and Money (a Decimal and a currency
# code checked against a fixed pattern). Walking past them keeps a result with a hundred
# converted amounts cheap.
_LEAVES: frozenset[type] = frozenset(
    {int, float, bool, type(None), Decimal, datetime, date, time, timedelta, Money}
)


def _children(value: object) -> list[object] | None:
    """The parts of a container to redact, or ``None`` for a leaf.

    A class may declare ``__payplane_holds_no_text__ = True`` (a map of currency codes to
    amounts that builds its values lazily): its instances are then left as they are.
    """
    kind = type(value)
    if (
        kind in _LEAVES
        or isinstance(value, enum.Enum)
        or getattr(kind, "__payplane_holds_no_text__", False)
    ):
        return None
    if isinstance(value, Mapping):
        return [part for item in value.items() for part in item]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if attrs.has(type(value)):
        fields = attrs.fields(cast("type[attrs.AttrsInstance]", type(value)))
        return [getattr(value, field.name) for field in fields if field.init]
    return None


def _rebuilt(value: object, parts: list[object]) -> object:
    """*value* rebuilt of redacted *parts* (the order of :func:`_children`)."""
    if isinstance(value, Mapping):
        pairs = dict(zip(parts[::2], parts[1::2], strict=True))
        if isinstance(value, MappingProxyType):
            return MappingProxyType(pairs)
        try:
            return cast("Any", type(value))(pairs)
        except Exception:  # noqa: BLE001 - a mapping type that cannot be rebuilt: a dict
            return pairs
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return type(value)(parts)
        except Exception:  # noqa: BLE001 - a named tuple and its kin: the plain type
            return tuple(parts) if isinstance(value, tuple) else parts
    fields = [
        field
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(value)))
        if field.init
    ]
    changes = {
        field.alias: new
        for field, new in zip(fields, parts, strict=True)
        if new is not getattr(value, field.name)
    }
    return attrs.evolve(cast("Any", value), **changes)


def _walk(root: object, redactor: Redactor) -> object:
    # Explicit stack: a hostile answer nested a thousand levels deep must not hit the
    # recursion limit. A frame is (value, its parts, the redacted parts so far); leaves
    # are handled in the frame's own loop, containers pushed.
    parts = _leaf_or_parts(root)
    if parts is None:
        return _redacted_leaf(root, redactor)
    stack: list[tuple[object, list[object], list[object]]] = [(root, parts, [])]
    on_path = {id(root)}
    while stack:
        value, parts, done = stack[-1]
        pushed = False
        for child in parts[len(done) :]:
            kind = type(child)
            if kind is str:
                done.append(redactor(cast("str", child)))
            elif kind in _LEAVES or id(child) in on_path:  # a cycle keeps its back reference
                done.append(child)
            else:
                child_parts = _leaf_or_parts(child)
                if child_parts is None:
                    done.append(_redacted_leaf(child, redactor))
                else:
                    on_path.add(id(child))
                    stack.append((child, child_parts, []))
                    pushed = True
                    break
        if pushed:
            continue
        stack.pop()
        on_path.discard(id(value))
        changed = any(new is not old for new, old in zip(done, parts, strict=True))
        result = _rebuilt(value, done) if changed else value
        if not stack:
            return result
        stack[-1][2].append(result)
    raise AssertionError  # pragma: no cover - the loop returns with the root


def _leaf_or_parts(value: object) -> list[object] | None:
    """A container's parts, or ``None`` for a leaf (text included)."""
    if isinstance(value, str | bytes):
        return None
    return _children(value)


def _redacted_leaf(value: object, redactor: Redactor) -> object:
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, bytes):
        return redactor.redact_bytes(value)
    return value


# -- headers ------------------------------------------------------------------------------

_SENSITIVE_HEADER = re.compile(r"auth|cookie|token|secret|passw|session|credential|api[-_]?key")


@functools.lru_cache(maxsize=256)
def is_sensitive_header(name: str) -> bool:
    """Whether a header *name* carries credentials, whatever its value.

    True for names containing ``auth`` (``Authorization``, ``Proxy-Authorization``),
    ``cookie``, ``token``, ``secret``, ``passw``, ``session``, ``credential`` or
    ``api-key``/``api_key``/``apikey`` (``X-API-Key``), in any case.
    """
    return _SENSITIVE_HEADER.search(name.lower()) is not None


def redact_headers(headers: Mapping[str, str], redactor: Redactor) -> Mapping[str, str]:
    """Return *headers* with credential headers masked and secrets replaced in the rest."""
    return MappingProxyType(
        {
            name: REDACTED if is_sensitive_header(name) else redactor(value)
            for name, value in headers.items()
        }
    )


# -- exceptions ---------------------------------------------------------------------------


def _link(exc: BaseException) -> BaseException | None:
    """The exception a traceback of *exc* shows next: its cause, else its context."""
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__


def describe_exception(exc: BaseException) -> str:
    """``module.Type: text`` of *exc* (builtins unqualified), even when ``str()`` fails."""
    kind = type(exc)
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error itself
        text = "<unprintable>"
    name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    return f"{name}: {text}" if text else name


def _redact_views(exc: PayplaneError | RedactedCause, redactor: Redactor) -> None:
    exc.args = redactor.redact_value(exc.args)
    for name, value in list(vars(exc).items()):
        redacted = redactor.redact_value(value)
        if redacted is not value:
            setattr(exc, name, redacted)


def redact_exception(exc: BaseException, redactor: Redactor) -> None:
    """Rewrite, in place, every view of *exc* and of the chain a traceback shows.

    Each payplane error in the chain keeps its place with its message, ``args`` (what
    ``repr()`` shows), every attribute (``field_errors`` keys and values included) and
    notes redacted; so does a :class:`~payplane.exceptions.RedactedCause` put there
    earlier. Any other exception (httpx's, whose ``request.url`` may hold a secret) is
    replaced by a :class:`~payplane.exceptions.RedactedCause` carrying its type, its
    redacted text and its traceback; the chain is rebuilt with ``__cause__`` links only,
    so no ``__context__`` shows what was replaced.
    """
    seen = {id(exc)}
    shown: BaseException = exc  # the exception of the rebuilt chain
    original: BaseException = exc  # the one whose links are followed
    while True:
        if isinstance(shown, PayplaneError | RedactedCause):
            _redact_views(shown, redactor)
        link = _link(original)
        if link is None or id(link) in seen:
            shown.__cause__ = None
            shown.__context__ = None
            return
        seen.add(id(link))
        if isinstance(link, PayplaneError | RedactedCause):
            replacement: BaseException = link
        else:
            replacement = RedactedCause(
                redactor(describe_exception(link)), original_type=type(link)
            )
            replacement = replacement.with_traceback(link.__traceback__)
        shown.__cause__ = replacement
        shown.__context__ = None
        shown, original = replacement, link


# -- the secrets of the process, and its log records --------------------------------------


class _LiveSecrets:
    """The values of every living :class:`~payplane.Secret`, held through weak references.

    Each ``Secret`` registers itself when created; its value drops out when the object is
    garbage-collected, so a short-lived key (a test's) does not stay redacted forever.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[object], str]] = {}
        self._dead: list[int] = []
        self._lock = threading.Lock()
        self._stamp = object()  # replaced on every change
        self._cached: tuple[object, Redactor] = (self._stamp, Redactor(()))
        self._factory_installed = False

    def add(self, owner: object, value: str) -> None:
        """Register *value*, held by *owner*, until *owner* is garbage-collected."""
        if not value:
            return
        key = id(owner)

        def forget(_ref: weakref.ref[object]) -> None:
            # Only records the key: it may run inside a garbage collection anywhere,
            # even while this registry's lock is held by the same thread.
            self._forget(key)

        ref = weakref.ref(owner, forget)
        with self._lock:
            self._purge()
            self._entries[key] = (ref, value)
            self._stamp = object()
            if not self._factory_installed:
                _install_record_factory()
                self._factory_installed = True

    def _forget(self, key: int) -> None:
        self._dead.append(key)
        self._stamp = object()

    def _purge(self) -> None:
        while self._dead:
            key = self._dead.pop()
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is None:
                del self._entries[key]

    def values(self) -> frozenset[str]:
        """The values of the secrets alive now."""
        with self._lock:
            self._purge()
            return frozenset(value for ref, value in self._entries.values() if ref() is not None)

    def redactor(self) -> Redactor:
        """A :class:`Redactor` of the secrets alive now (rebuilt only after a change)."""
        stamp, redactor = self._cached
        if stamp is self._stamp:
            return redactor
        # Read the stamp before the values: a secret added meanwhile changes the stamp
        # again, so the next call rebuilds.
        stamp = self._stamp
        redactor = redactor_for(self.values())
        self._cached = (stamp, redactor)
        return redactor


LIVE = _LiveSecrets()
"""The secrets of this process: every living :class:`~payplane.Secret`'s value."""

_FORMATTER = logging.Formatter()


class _RedactingDict(dict[str, Any]):
    """A log record's ``__dict__`` that redacts what ``Logger.makeRecord`` adds to it.

    ``extra=`` values reach a record after the record factory ran, by item assignment to
    its ``__dict__``; this catches them there.
    """

    __slots__ = ("_redactor",)

    def __init__(self, values: dict[str, Any], redactor: Redactor) -> None:
        super().__init__(values)
        self._redactor = redactor

    def __setitem__(self, key: str, value: Any) -> None:  # noqa: ANN401 - any extra= value
        super().__setitem__(key, self._redactor.redact_value(value))


def _redact_message(record: logging.LogRecord, redactor: Redactor) -> None:
    msg = record.msg
    if isinstance(msg, str) and not record.args:
        if redactor.found_in(msg):
            record.msg = redactor(msg)
    elif isinstance(msg, Mapping | list | tuple) and not record.args:
        record.msg = redactor.redact_value(msg)  # structured messages stay structured
    else:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - logging reports a bad format itself
            return
        if redactor.found_in(text):
            record.msg, record.args = redactor(text), ()


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Redact, in place, every text of *record*: message, arguments, exception, stack.

    The message is formatted once; when it shows a secret, the redacted text replaces
    ``msg`` and ``args`` is emptied. An exception is formatted, and when the text shows
    a secret, the redacted text becomes ``exc_text`` and ``exc_info`` is dropped (a
    handler reading the exception object would see the secret). ``extra=`` values,
    which ``Logger.makeRecord`` adds after the factory ran, are redacted as they are set.
    """
    if not redactor:
        return
    _redact_message(record, redactor)
    if record.exc_info and record.exc_info[1] is not None:
        formatted = _FORMATTER.formatException(record.exc_info)
        if redactor.found_in(formatted):
            record.exc_text, record.exc_info = redactor(formatted), None
    if record.stack_info and redactor.found_in(record.stack_info):
        record.stack_info = redactor(record.stack_info)
    with contextlib.suppress(AttributeError, TypeError):  # a record class with __slots__
        record.__dict__ = _RedactingDict(record.__dict__, redactor)


_install_lock = threading.Lock()


def _install_record_factory() -> None:
    """Chain a record factory that redacts every record of every logger.

    A logger's filter never sees the records its children propagate (``httpcore.http11``
    past a filter on ``httpcore``), and handlers are the application's; the record
    factory is the one place every record passes, whichever logger makes it.
    """
    with _install_lock:
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:  # noqa: ANN401
            record = previous(*args, **kwargs)
            redactor = LIVE.redactor()
            if redactor:
                redact_record(record, redactor)
            return record

        logging.setLogRecordFactory(factory)
