"""Descriptions of HTTP exchanges: what a sans-I/O provider builds and parses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["HttpRequest", "HttpResponse", "PostbackAnswer"]


def _headers(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is _JSON_HEADERS:  # already normalised and read-only: the common case
        return value
    if not value:
        return _NO_HEADERS
    return MappingProxyType({k.lower(): v for k, v in value.items()})


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_JSON_HEADERS: Mapping[str, str] = MappingProxyType(
    {"content-type": "application/json", "accept": "application/json"}
)


@attrs.frozen(kw_only=True)
class HttpRequest:
    """An HTTP request for the client to send, as a provider describes it.

    Attributes:
        operation: The operation it serves (``"create_withdrawal"``).
        method: HTTP method.
        url: Full URL. May hold a secret (Paykassma's ``?secret=``): payplane redacts
            every secret setting before logging or raising it.
        headers: Request headers (names lower-cased).
        content: The body bytes.
        moves_money: Whether sending it can move money (activation, withdrawal).
        replay_safe: Whether sending it twice has the effect of sending it once (a
            read, or a write with an idempotency key the provider honours). Only
            replay-safe requests are retried after they may have reached the provider.
        reference: The caller's reference, carried by an unknown-outcome error.
    """

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    content: bytes = b""
    moves_money: bool = False
    replay_safe: bool = False
    reference: str | None = None

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


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # json.dumps cannot write an exact decimal literal: the provider decides whether
        # the wire wants an integer or a string, and converts before building the payload.
        msg = "convert Decimal amounts with int() or str() before building the payload"
        raise TypeError(msg)
    msg = f"{type(value).__name__} is not JSON serialisable"
    raise TypeError(msg)


@attrs.frozen(kw_only=True)
class HttpResponse:
    """An HTTP response for a provider to parse.

    Attributes:
        status_code: The HTTP status.
        headers: Response headers (names lower-cased).
        content: The body bytes.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    content: bytes = b""

    def json(self) -> Any:  # noqa: ANN401 - JSON is untyped until a provider structures it
        """Parse the body as JSON, numbers with a fraction as ``Decimal`` (never float)."""
        return json.loads(self.content, parse_float=Decimal)


@attrs.frozen(kw_only=True)
class PostbackAnswer:
    """The HTTP answer to send back to a provider that delivered a postback.

    Attributes:
        status_code: HTTP status.
        content: Body bytes.
        headers: Response headers.
    """

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)


# One encoder for every request body: json.dumps builds a new one per call whenever an
# option differs from its defaults.
_encode_json = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_json_default
).encode
