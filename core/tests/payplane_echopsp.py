"""EchoPSP: a hostile provider that echoes its secrets into every view it can reach.

It authenticates every way a PSP does (the key in the query string, ``Authorization:
Bearer``, ``X-API-Key``, HTTP Basic ``base64(key_id:key)`` in a header whose name is not
a credential's, the key in the JSON body), puts the key in decline messages and
``field_errors`` (as keys and values), in activation messages and ``raw`` answers, in
malformed-answer errors, and keeps unknown postback members (``comment`` holding a key)
in ``event.raw``. Its answers are written by the tests' transport (see
``test_secret_views.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import attrs

import payplane
from payplane import (
    ActivationOutcome,
    Capability,
    HttpRequest,
    HttpResponse,
    MappedStatus,
    Money,
    PostbackKind,
    Secret,
    WithdrawalStatus,
)
from payplane.exceptions import (
    MalformedPayloadError,
    ProviderDeclinedError,
    SignatureError,
)
from payplane.hookspecs import hookimpl

PROVIDER_ID = "echopsp"
BASE_URL = "https://echo.test"
KEY_ID = "merchant-7"


@attrs.frozen(kw_only=True)
class EchoSettings:
    """Settings of EchoPSP: two secrets and a non-secret key id."""

    api_key: Secret = payplane.secret_field()
    webhook_secret: Secret = payplane.secret_field()
    key_id: str = KEY_ID


def sign(body: bytes, secret: str) -> str:
    """Sign an EchoPSP postback body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _data(response: HttpResponse) -> dict[str, Any]:
    data = json.loads(response.content, parse_float=Decimal)
    if not isinstance(data, dict):
        msg = f"not an object: {data!r}"
        raise MalformedPayloadError(msg)
    if "error" in data:
        error = str(data["error"])
        raise ProviderDeclinedError(error, field_errors={error: [error, "again " + error]})
    return data


class EchoProvider:
    """Sans-I/O EchoPSP."""

    def __init__(self, settings: EchoSettings) -> None:
        self.settings = settings

    def _request(self, operation: str, path: str, **flags: Any) -> HttpRequest:
        key = self.settings.api_key.reveal()
        basic = base64.b64encode(f"{self.settings.key_id}:{key}".encode()).decode()
        # Header values are ASCII on the wire: a key that is not goes percent-encoded.
        header_key = key if key.isascii() else quote(key, safe="")
        return HttpRequest.json(
            operation=operation,
            method="POST",
            url=f"{BASE_URL}{path}?secret={quote(key, safe='')}",
            payload={"key": key, "path": path},
            headers={
                "Authorization": f"Bearer {header_key}",
                "X-API-Key": header_key,
                "X-Echo": f"Basic {basic}",
                "X-Plain": header_key,
            },
            **flags,
        )

    # Plugin API 2: each operation is a flow of one exchange over build_* and parse_*.

    def start_deposit(
        self, request: payplane.DepositRequest
    ) -> payplane.Flow[payplane.DepositStart]:
        """One exchange: the echoed deposit."""
        response = yield self.build_deposit(request)
        return self.parse_deposit(request, response)

    def activate_deposit(
        self, request: payplane.ActivationRequest
    ) -> payplane.Flow[payplane.ActivationResult]:
        """One exchange: the echoed activation."""
        response = yield self.build_activation(request)
        return self.parse_activation(request, response)

    def create_withdrawal(
        self, request: payplane.WithdrawalRequest
    ) -> payplane.Flow[payplane.WithdrawalResult]:
        """One exchange: the echoed payout."""
        response = yield self.build_withdrawal(request)
        return self.parse_withdrawal(request, response)

    def build_deposit(self, request: payplane.DepositRequest) -> HttpRequest:
        return self._request("start_deposit", "/deposits", replay_safe=True)

    def parse_deposit(
        self, request: payplane.DepositRequest, response: HttpResponse | None
    ) -> payplane.DepositStart:
        details = None
        if response is not None:
            data = _data(response)
            details = payplane.PaymentDetails(
                method="echo", account=str(data["account"]), currency=request.currency, raw=data
            )
        return payplane.DepositStart(
            provider=PROVIDER_ID,
            customer_id=request.customer_id,
            currency=request.currency,
            payment_details=details,
        )

    def build_activation(self, request: payplane.ActivationRequest) -> HttpRequest:
        return self._request(
            "activate_deposit", "/activations", moves_money=True, reference=request.reference
        )

    def parse_activation(
        self, request: payplane.ActivationRequest, response: HttpResponse
    ) -> payplane.ActivationResult:
        data = _data(response)
        return payplane.ActivationResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            outcome=MappedStatus(ActivationOutcome.PENDING, data.get("status")),
            message=str(data.get("message")),
            raw=data,
        )

    def build_withdrawal(self, request: payplane.WithdrawalRequest) -> HttpRequest:
        return self._request(
            "create_withdrawal",
            "/withdrawals",
            moves_money=True,
            replay_safe=True,
            reference=request.reference,
        )

    def parse_withdrawal(
        self, request: payplane.WithdrawalRequest, response: HttpResponse
    ) -> payplane.WithdrawalResult:
        data = _data(response)
        if data.get("status") != "queued":
            msg = f"unclassifiable answer {data!r}"
            raise MalformedPayloadError(msg)
        return payplane.WithdrawalResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            status=MappedStatus(WithdrawalStatus.PENDING, data["status"]),
            amount=request.amount,
            raw=data,
        )

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> payplane.PostbackEvent | payplane.OtherEvent:
        expected = sign(body, self.settings.webhook_secret.reveal())
        if not hmac.compare_digest(headers.get("x-signature", ""), expected):
            msg = f"x-signature does not match the body {body!r}"
            raise SignatureError(msg)
        data = json.loads(body, parse_float=Decimal)
        raw = {key: value for key, value in data.items() if key != "access_key"}
        return payplane.PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.DEPOSIT,
            event_key=str(data["id"]),
            status=MappedStatus(payplane.DepositStatus.SUCCEEDED, "paid"),
            amount=Money(data["amount"], "USD"),
            customer_id=str(data.get("customer")),
            raw=raw,
        )

    def postback_answer(self, *, accepted: bool) -> payplane.PostbackAnswer:
        return payplane.PostbackAnswer(status_code=200 if accepted else 503)


SPEC = payplane.ProviderSpec(
    id=PROVIDER_ID,
    display_name="EchoPSP",
    capabilities={
        Capability.DEPOSITS,
        Capability.ACTIVATION,
        Capability.WITHDRAWALS,
        Capability.POSTBACKS,
    },
    currencies={"USD"},
    api_version=payplane.PLUGIN_API_VERSION,
    settings=EchoSettings,
    factory=EchoProvider,
)


@hookimpl
def payplane_providers() -> list[payplane.ProviderSpec]:
    """EchoPSP's spec."""
    return [SPEC]
