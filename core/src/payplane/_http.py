"""Descriptions of HTTP exchanges: what a sans-I/O provider builds and parses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

import attrs

from payplane._redaction import LIVE, redact_headers
from payplane.exceptions import ValidationError

__all__ = ["HttpRequest", "HttpResponse", "PostbackAnswer"]


class _Normalised(dict[str, str]):
    """Headers normalised already, which the converter takes as they are.

    httpx's ``Headers.items()``: lower-case names, repeated names joined with ``", "``.
    """

    __slots__ = ()


def _headers(value: Mapping[str, str] | None) -> Mapping[str, str]:
    """Normalise headers once: names lower-cased, a read-only mapping.

    A name given twice in different cases (``X-Signature`` and ``x-signature``) keeps
    both values, joined with ``", "`` in the order given, as HTTP combines a repeated
    field (RFC 9110, section 5.3); a signature check then fails instead of picking one.

    Raises:
        ValidationError: not a mapping, or a name or value that is not a ``str`` (names
            the header, never shows a value).
    """
    if value is _JSON_HEADERS:  # already normalised and read-only: the common case
        return value
    if type(value) is _Normalised:
        return MappingProxyType(value)
    if value is None:
        return _NO_HEADERS
    if not isinstance(cast("object", value), Mapping):
        msg = f"must be a mapping of header names to values, not {type(value).__name__}"
        raise ValidationError("headers", msg, limit="Mapping[str, str]")
    if not value:
        return _NO_HEADERS
    headers: dict[str, str] = {}
    items: Iterable[tuple[object, object]] = value.items()
    for name, text in items:
        if not isinstance(name, str):
            msg = f"a header name is a {type(name).__name__}, not a str (decode it as latin-1)"
            raise ValidationError("headers", msg, limit="str names and values")
        if not isinstance(text, str):
            msg = (
                f"the value of {name!r} is a {type(text).__name__}, not a str "
                "(decode it as latin-1)"
            )
            raise ValidationError("headers", msg, limit="str names and values")
        key = name.lower()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return MappingProxyType(headers)


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_JSON_HEADERS: Mapping[str, str] = MappingProxyType(
    {"content-type": "application/json", "accept": "application/json"}
)


def _redacted_repr(instance: object, names: tuple[str, ...]) -> str:
    """An attrs-style repr with credential headers masked and secrets redacted.

    Every secret of the process (:data:`payplane._redaction.LIVE`) is replaced in the
    URL, the header values and the body.
    """
    redactor = LIVE.redactor()
    parts = []
    for name in names:
        value = getattr(instance, name)
        if name == "headers":
            value = dict(redact_headers(value, redactor))
        elif isinstance(value, bytes):
            value = redactor.redact_bytes(value)
        elif isinstance(value, str):
            value = redactor(value)
        parts.append(f"{name}={value!r}")
    return f"{type(instance).__name__}({', '.join(parts)})"


@attrs.frozen(kw_only=True, repr=False)
class HttpRequest:
    """An HTTP request for the client to send, as a provider describes it.

    ``repr()`` never shows a secret: credential headers (``Authorization``, ``Cookie``,
    ``X-API-Key``...) read ``***`` whatever their value, and every secret of the
    process is replaced in the URL, the other header values and the body.

    Attributes:
        operation: The operation it serves (``"create_withdrawal"``).
        method: HTTP method.
        url: Full URL. May hold a secret (Paykassma's ``?secret=``): payplane redacts
            every secret setting before logging or raising it.
        headers: Request headers (names lower-cased; a name given in several cases keeps
            every value, joined with ``", "``).
        content: The body bytes.
        moves_money: Whether sending it can move money (activation, withdrawal).
        replay_safe: Whether sending it twice has the effect of sending it once (a
            read, or a write with an idempotency key the provider honours). Only
            replay-safe requests are retried after they may have reached the provider.
        reference: The caller's reference, carried by an unknown-outcome error.

    Raises:
        ValidationError: a header name or value that is not a ``str``.
    """

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    content: bytes = b""
    moves_money: bool = False
    replay_safe: bool = False
    reference: str | None = None

    def __repr__(self) -> str:
        return _redacted_repr(self, _REQUEST_FIELDS)

    @classmethod
    def json(
        cls,
        *,
        operation: str,
        method: str,
        url: str,
        payload: object,
        moves_money: bool = False,
        replay_safe: bool = False,
        reference: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpRequest:
        """Describe a request with a compact UTF-8 JSON body (``Decimal`` written exactly)."""
        return cls(
            operation=operation,
            method=method,
            url=url,
            headers=_JSON_HEADERS if headers is None else {**_JSON_HEADERS, **headers},
            content=_encode_json(payload).encode(),
            moves_money=moves_money,
            replay_safe=replay_safe,
            reference=reference,
        )


_REQUEST_FIELDS = (
    "operation",
    "method",
    "url",
    "headers",
    "content",
    "moves_money",
    "replay_safe",
    "reference",
)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # json.dumps cannot write an exact decimal literal: the provider decides whether
        # the wire wants an integer or a string, and converts before building the payload.
        msg = "convert Decimal amounts with int() or str() before building the payload"
        raise TypeError(msg)
    msg = f"{type(value).__name__} is not JSON serialisable"
    raise TypeError(msg)


@attrs.frozen(kw_only=True, repr=False)
class HttpResponse:
    """An HTTP response for a provider to parse.

    ``repr()`` masks credential headers (``Set-Cookie``...) and replaces every secret
    of the process in header values and body.

    Attributes:
        status_code: The HTTP status.
        headers: Response headers (names lower-cased, repeated names joined with ``", "``).
        content: The body bytes.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    content: bytes = b""

    def __repr__(self) -> str:
        return _redacted_repr(self, ("status_code", "headers", "content"))

    def json(self) -> Any:  # noqa: ANN401 - JSON is untyped until a provider structures it
        """Parse the body as JSON, numbers with a fraction as ``Decimal`` (never float)."""
        return json.loads(self.content, parse_float=Decimal)


@attrs.frozen(kw_only=True, repr=False)
class PostbackAnswer:
    """The HTTP answer to send back to a provider that delivered a postback.

    ``repr()`` is redacted as :class:`HttpResponse`'s is.

    Attributes:
        status_code: HTTP status.
        content: Body bytes.
        headers: Response headers.
    """

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)

    def __repr__(self) -> str:
        return _redacted_repr(self, ("status_code", "content", "headers"))


# One encoder for every request body: json.dumps builds a new one per call whenever an
# option differs from its defaults.
_encode_json = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_json_default
).encode
