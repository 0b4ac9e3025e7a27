"""Razorpay's HTTP API as request descriptions and answer classification (no I/O).

Every call authenticates with HTTP Basic, ``key_id:key_secret``; Razorpay wants the
scheme word exactly ``Basic`` and the token unquoted
(https://razorpay.com/docs/api/authentication/). Bodies are JSON. Any 2xx is success;
refusals are ``{"error": {"code", "description", "field", "reason", ...}}`` with HTTP 400
for validation, unknown ids ("The id provided does not exist") and even unknown URLs,
401 or 400 for bad keys, 409 for a refund still in progress, 429 and 5xx
(https://razorpay.com/docs/errors/, https://razorpay.com/docs/api/understand/).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from payplane import HttpRequest, HttpResponse, PaymentKind
from payplane.exceptions import (
    InsufficientFundsError,
    MalformedPayloadError,
    NotFoundError,
    PayplaneError,
    ProviderDeclinedError,
    SignatureError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane_razorpay._settings import RazorpaySettings
from payplane_razorpay._wire import WireErrorAnswer, loads, structure

__all__ = ["PROVIDER_ID", "Api", "check_id", "timestamp"]

PROVIDER_ID = "razorpay"

T = TypeVar("T")

_SERVER_ERROR = 500
_UNAUTHORIZED = 401
_NOT_FOUND = 404
_CONFLICT = 409
_NOT_FOUND_TEXT = "does not exist"
_AUTH_TEXT = "authentication failed"
_IP_TEXT = "ip are not allowed"
_INSUFFICIENT_REASONS = frozenset({"insufficient_funds", "insufficient_balance", "low_balance"})
_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def check_id(field: str, value: str, prefixes: tuple[str, ...]) -> str:
    """Return *value* if it is a Razorpay id with one of *prefixes* (``"pay_"``, ...).

    Ids go into URL paths, so nothing but letters, digits and ``_`` is let through.

    Raises:
        ValidationError: anything else (names *field*).
    """
    if _ID.fullmatch(value) is None or not value.startswith(prefixes):
        shown = " or ".join(f"{prefix}…" for prefix in prefixes)
        msg = f"{value!r:.60} is not a Razorpay id of the right kind"
        raise ValidationError(field, msg, limit=shown)
    return value


def timestamp(value: object, what: str) -> datetime | None:
    """Return a Razorpay unix timestamp (seconds) as an aware UTC datetime; 0/None -> None.

    Raises:
        MalformedPayloadError: not an integer number of seconds in range.
    """
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_TIMESTAMP:
        msg = f"{what}: {value!r:.40} is not a unix timestamp"
        raise MalformedPayloadError(msg)
    return datetime.fromtimestamp(value, UTC)


def _bad_keys(detail: str) -> SignatureError:
    msg = (
        f"Razorpay refused the API keys ({detail}): check key_id and key_secret, and "
        "that both belong to the same mode (test or live)"
    )
    return SignatureError(msg)


class Api:
    """Builds Razorpay requests and classifies Razorpay's answers, for one settings.

    Args:
        settings: The provider settings.
    """

    def __init__(self, settings: RazorpaySettings) -> None:
        self.settings = settings
        self.base = settings.api_base_url
        token = f"{settings.key_id}:{settings.key_secret.reveal()}".encode()
        basic = "Basic " + base64.b64encode(token).decode("ascii")
        self._headers = {"authorization": basic, "accept": "application/json"}

    def __repr__(self) -> str:
        return f"<Api {self.base!r} key_id={self.settings.key_id!r}>"

    def url(self, *segments: str, query: Mapping[str, str] | None = None) -> str:
        """Return ``{api_base_url}/v1/<segments>?<query>``, each segment percent-encoded."""
        path = "/".join(quote(segment, safe="") for segment in segments)
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{self.base}/v1/{path}{suffix}"

    def get(self, operation: str, url: str, *, reference: str | None = None) -> HttpRequest:
        """Describe a read: replay-safe, moves no money."""
        return HttpRequest(
            operation=operation,
            method="GET",
            url=url,
            headers=self._headers,
            replay_safe=True,
            reference=reference,
        )

    def post(
        self,
        operation: str,
        url: str,
        payload: object,
        *,
        reference: str | None,
        moves_money: bool = False,
        replay_safe: bool,
        headers: Mapping[str, str] | None = None,
    ) -> HttpRequest:
        """Describe a JSON POST."""
        return HttpRequest.json(
            operation=operation,
            method="POST",
            url=url,
            payload=payload,
            moves_money=moves_money,
            replay_safe=replay_safe,
            reference=reference,
            headers={**self._headers, **(headers or {})},
        )

    # -- answers ---------------------------------------------------------------------

    def entity(
        self,
        response: HttpResponse,
        cls: type[T],
        what: str,
        *,
        moves_money: bool = False,
        reference: str | None = None,
        looked_up: tuple[PaymentKind, str] | None = None,
    ) -> tuple[T, dict[str, Any]]:
        """Return the entity a 2xx answer holds, structured, and its parsed JSON.

        Args:
            response: The answer.
            cls: The wire class of the entity.
            what: What the answer is, for messages (``"the payout answer"``).
            moves_money: Whether the request may have moved money: a 5xx is then
                unclassifiable (an unknown outcome), and a 409 means "still in progress".
            reference: The operation's reference, for an unknown outcome.
            looked_up: What was fetched (kind and id or reference), when "does not
                exist" means :class:`~payplane.exceptions.NotFoundError`.

        Raises:
            PayplaneError: what :meth:`refusal` makes of a non-2xx answer.
            MalformedPayloadError: a 2xx answer that is not the entity.
        """
        if not 200 <= response.status_code < 300:  # noqa: PLR2004
            raise self.refusal(
                response, what, moves_money=moves_money, reference=reference, looked_up=looked_up
            )
        data = loads(response.content, what)
        if not isinstance(data, dict):
            msg = f"{what} is not a JSON object"
            raise MalformedPayloadError(msg)
        return structure(data, cls, what=what), data

    def refusal(  # noqa: PLR0911 - one answer per kind of refusal
        self,
        response: HttpResponse,
        what: str,
        *,
        moves_money: bool = False,
        reference: str | None = None,
        looked_up: tuple[PaymentKind, str] | None = None,
    ) -> PayplaneError:
        """Return the error a non-2xx answer stands for (see :meth:`entity`)."""
        status = response.status_code
        if status >= _SERVER_ERROR:
            msg = f"{what}: HTTP {status} from Razorpay"
            if moves_money:
                # The request may have acted: the client reports an unknown outcome.
                return MalformedPayloadError(msg)
            return TransportError(msg, retry_safe=True)
        if status == _CONFLICT and moves_money:
            msg = (
                f"{what}: HTTP 409, a request with this idempotency key is still being "
                "processed; retry later with the same reference"
            )
            return UnknownOutcomeError(msg, reference=reference)
        if status == _UNAUTHORIZED:
            return _bad_keys(f"HTTP {status}")
        error = self._error(response)
        if error is None:
            msg = f"{what}: HTTP {status} without a Razorpay error object"
            return MalformedPayloadError(msg) if moves_money else ProviderDeclinedError(msg)
        description = error.error.description or error.error.code or f"HTTP {status}"
        lowered = description.lower()
        if _AUTH_TEXT in lowered:
            return _bad_keys(description)
        if looked_up is not None and (status == _NOT_FOUND or _NOT_FOUND_TEXT in lowered):
            kind, looked = looked_up
            return NotFoundError(description, kind=kind.value, reference=looked)
        fields = {error.error.field: [description]} if error.error.field else None
        if error.error.reason in _INSUFFICIENT_REASONS:
            return InsufficientFundsError(description, field_errors=fields)
        if _IP_TEXT in lowered:
            description += (
                " (RazorpayX accepts payout calls only from IP addresses allowlisted in its "
                "Dashboard)"
            )
        return ProviderDeclinedError(description, field_errors=fields)

    @staticmethod
    def _error(response: HttpResponse) -> WireErrorAnswer | None:
        try:
            return structure(loads(response.content, "the error"), WireErrorAnswer, what="error")
        except MalformedPayloadError:
            return None
