"""FakePSP: a fictional provider that exercises every capability of the core.

Its wire protocol is deliberately simple: JSON bodies, an ``api-key`` header, and
postbacks signed with HMAC-SHA256 over the raw body in an ``x-signature`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

import attrs

import payplane
from payplane import (
    ActivationOutcome,
    Capability,
    DepositStatus,
    HttpRequest,
    HttpResponse,
    Money,
    PostbackKind,
    Secret,
    StatusMap,
    WithdrawalStatus,
)
from payplane.exceptions import (
    InsufficientFundsError,
    MalformedPayloadError,
    PayloadTooLargeError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)
from payplane.hookspecs import hookimpl

PROVIDER_ID = "fakepsp"
TEST_API_KEY = "fake-api-key-0123456789"
TEST_WEBHOOK_SECRET = "fake-webhook-secret-abcdef"


def _https(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith(("https://", "http://127.0.0.1")):
        raise ValidationError(attribute.name, "must be an https URL", limit="https")


@attrs.frozen(kw_only=True)
class FakeSettings:
    """Settings of FakePSP."""

    base_url: str = attrs.field(validator=_https)
    api_key: Secret = payplane.secret_field()
    webhook_secret: Secret = payplane.secret_field()
    max_body: int = 4096


ACTIVATION = StatusMap(
    ActivationOutcome,
    {
        "credited": ActivationOutcome.CREDITED,
        "short": ActivationOutcome.BELOW_MINIMUM,
        "pending": ActivationOutcome.PENDING,
        "review": ActivationOutcome.UNDER_REVIEW,
        "rejected": ActivationOutcome.REJECTED,
    },
)
WITHDRAWAL = StatusMap(
    WithdrawalStatus,
    {
        "queued": WithdrawalStatus.PENDING,
        "paid": WithdrawalStatus.SUCCEEDED,
        "failed": WithdrawalStatus.FAILED,
    },
)
DEPOSIT = StatusMap(
    DepositStatus, {"paid": DepositStatus.SUCCEEDED, "failed": DepositStatus.FAILED}
)


def sign(body: bytes, secret: str) -> str:
    """Sign a FakePSP postback body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeProvider:
    """Sans-I/O FakePSP implementation."""

    def __init__(self, settings: FakeSettings) -> None:
        self.settings = settings

    def _json(self, response: HttpResponse) -> dict[str, object]:
        try:
            data = response.json()
        except ValueError as exc:
            msg = f"HTTP {response.status_code}: not JSON"
            raise MalformedPayloadError(msg) from exc
        if not isinstance(data, dict):
            msg = "expected a JSON object"
            raise MalformedPayloadError(msg)
        if data.get("error"):
            error = data["error"]
            if error == "insufficient":
                msg = "insufficient balance"
                raise InsufficientFundsError(msg)
            raise ProviderDeclinedError(str(error))
        return data

    def _post(self, operation: str, path: str, payload: object, **kw: object) -> HttpRequest:
        return HttpRequest.json(
            operation=operation,
            method="POST",
            url=f"{self.settings.base_url}{path}",
            payload=payload,
            headers={"api-key": self.settings.api_key.reveal()},
            **kw,  # type: ignore[arg-type]
        )

    # deposits
    def build_deposit(self, request: payplane.DepositRequest) -> HttpRequest | None:
        if not request.payment_details:
            return None
        return self._post(
            "start_deposit", "/deposits", {"customer": request.customer_id}, replay_safe=True
        )

    def parse_deposit(
        self, request: payplane.DepositRequest, response: HttpResponse | None
    ) -> payplane.DepositStart:
        details = None
        if response is not None:
            data = self._json(response)
            details = payplane.PaymentDetails(
                method="fakewallet",
                account=str(data["account"]),
                currency=request.currency,
                raw=data,
            )
        url = None
        if request.hosted_page:
            url = f"{self.settings.base_url}/pay?" + urlencode({"customer": request.customer_id})
        return payplane.DepositStart(
            provider=PROVIDER_ID,
            customer_id=request.customer_id,
            currency=request.currency,
            payment_details=details,
            hosted_page_url=url,
        )

    # activation
    def build_activation(self, request: payplane.ActivationRequest) -> HttpRequest:
        if len(request.transaction_id) > 12:
            raise ValidationError("transaction_id", "too long", limit="<= 12 characters")
        return self._post(
            "activate_deposit",
            "/activations",
            {
                "txn": request.transaction_id,
                "amount": str(request.amount.amount),
                "ref": request.reference,
            },
            moves_money=True,
            reference=request.reference,
        )

    def parse_activation(
        self, request: payplane.ActivationRequest, response: HttpResponse
    ) -> payplane.ActivationResult:
        data = self._json(response)
        if "status" not in data:
            msg = "no status"
            raise MalformedPayloadError(msg)
        currency = request.amount.currency
        credited = data.get("credited")
        return payplane.ActivationResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            outcome=ACTIVATION.map(data["status"]),
            credited=Money(str(credited), currency) if credited is not None else None,
            raw=data,
        )

    # withdrawals
    def build_withdrawal(self, request: payplane.WithdrawalRequest) -> HttpRequest:
        return self._post(
            "create_withdrawal",
            "/withdrawals",
            {
                "id": request.reference,
                "amount": str(request.amount.amount),
                "to": request.account_number,
            },
            moves_money=True,
            replay_safe=True,  # FakePSP honours the id as an idempotency key
            reference=request.reference,
        )

    def parse_withdrawal(
        self, request: payplane.WithdrawalRequest, response: HttpResponse
    ) -> payplane.WithdrawalResult:
        data = self._json(response)
        if data.get("status") not in {"queued", "paid", "failed"}:
            msg = f"unclassifiable status {data.get('status')!r}"
            raise MalformedPayloadError(msg)
        return payplane.WithdrawalResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            status=WITHDRAWAL.map(data["status"]),
            amount=request.amount,
            raw=data,
        )

    # postbacks
    def verify_postback(self, body: bytes, headers: Mapping[str, str]) -> payplane.PostbackEvent:
        if len(body) > self.settings.max_body:
            raise PayloadTooLargeError(len(body), self.settings.max_body)
        given = {k.lower(): v for k, v in headers.items()}.get("x-signature", "")
        expected = sign(body, self.settings.webhook_secret.reveal())
        if not hmac.compare_digest(given, expected):
            msg = "x-signature does not match"
            raise SignatureError(msg)
        try:
            data = json.loads(body, parse_float=Decimal)
            kind = PostbackKind(data["kind"])
            amount = Money(data["amount"], data["currency"])
            key = f"{kind.value}:{data['id']}:{data['status']}"
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"not a FakePSP postback: {exc!r}"
            raise MalformedPayloadError(msg) from exc
        table = DEPOSIT if kind is PostbackKind.DEPOSIT else WITHDRAWAL
        return payplane.PostbackEvent(
            provider=PROVIDER_ID,
            kind=kind,
            event_key=key,
            status=table.map(data["status"]),
            amount=amount,
            reference=str(data["id"]),
            raw=data,
        )

    def postback_answer(self, *, accepted: bool) -> payplane.PostbackAnswer:
        if accepted:
            return payplane.PostbackAnswer(status_code=204)
        return payplane.PostbackAnswer(status_code=503, content=b"retry later")


SPEC = payplane.ProviderSpec(
    id=PROVIDER_ID,
    display_name="FakePSP",
    capabilities={
        Capability.DEPOSITS,
        Capability.ACTIVATION,
        Capability.WITHDRAWALS,
        Capability.POSTBACKS,
    },
    currencies={"USD", "MMK", "KWD", "JPY"},
    api_version=payplane.PLUGIN_API_VERSION,
    settings=FakeSettings,
    factory=FakeProvider,
)


@hookimpl
def payplane_providers() -> list[payplane.ProviderSpec]:
    """FakePSP's spec."""
    return [SPEC]
