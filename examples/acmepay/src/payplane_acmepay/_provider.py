"""AcmePay: sans-I/O deposits and HMAC-SHA256-signed postbacks.

The wire protocol (fictional): ``POST {base_url}/v1/payments`` with a bearer key and a
JSON body whose amount is a decimal string; the answer holds the payment's id, a
checkout URL and the account to pay to. Postbacks are JSON, signed with HMAC-SHA256 over
the raw body in the ``x-acmepay-signature`` header (``sha256=<hex>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from payplane import (
    DepositRequest,
    DepositStart,
    DepositStatus,
    HttpRequest,
    HttpResponse,
    Money,
    PaymentDetails,
    PostbackAnswer,
    PostbackEvent,
    PostbackKind,
    Secret,
    StatusMap,
    iso_currency,
    secret_field,
)
from payplane.exceptions import (
    MalformedPayloadError,
    PayloadTooLargeError,
    PayplaneError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)

__all__ = ["SIGNATURE_HEADER", "STATUSES", "AcmeProvider", "AcmeSettings", "sign"]

PROVIDER_ID = "acmepay"
SIGNATURE_HEADER = "x-acmepay-signature"
CURRENCIES = frozenset({"EUR", "JPY", "KWD", "USD"})
STATUSES = StatusMap(
    DepositStatus,
    {
        "pending": DepositStatus.PENDING,
        "succeeded": DepositStatus.SUCCEEDED,
        "failed": DepositStatus.FAILED,
        "expired": DepositStatus.FAILED,
    },
)
"""AcmePay's payment statuses; any other maps to ``UNKNOWN``."""


def _https(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith("https://"):
        raise ValidationError(attribute.name, "must be an https URL", limit="https")


@attrs.frozen(kw_only=True)
class AcmeSettings:
    """How to reach AcmePay.

    Attributes:
        api_key: The merchant's API key (sent as a bearer token).
        webhook_secret: The key AcmePay signs postbacks with.
        base_url: The API's base URL.
        max_postback_bytes: Larger postbacks are refused unread.
    """

    api_key: Secret = secret_field()
    webhook_secret: Secret = secret_field()
    base_url: str = attrs.field(default="https://api.acmepay.example", validator=_https)
    max_postback_bytes: int = 65_536


def sign(body: bytes, secret: str) -> str:
    """Return the ``x-acmepay-signature`` value of *body*."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _amount_text(money: Money) -> str:
    """The amount as AcmePay's decimal string; more places than the currency has is refused."""
    exponent = iso_currency(money.currency).exponent or 0
    if money.amount != money.amount.quantize(Decimal(1).scaleb(-exponent)):
        msg = f"{money} has more than {exponent} decimal places"
        raise ValidationError("amount", msg, limit=f"{exponent} decimal places")
    return format(money.amount, "f")


def _object(content: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(content, parse_float=Decimal)
    except ValueError as exc:
        msg = f"{what} is not JSON"
        raise MalformedPayloadError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{what} is not a JSON object"
        raise MalformedPayloadError(msg)
    return data


class AcmeProvider:
    """AcmePay, sans-I/O: builds request descriptions, parses answers and postbacks.

    Args:
        settings: The provider settings.
    """

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"<AcmeProvider base_url={self.settings.base_url!r}>"

    def build_deposit(self, request: DepositRequest) -> HttpRequest:
        """Return the payment-creation request (the checkout URL comes from its answer).

        Raises:
            ValidationError: a currency AcmePay does not move, or too many decimal places.
        """
        if request.currency not in CURRENCIES:
            msg = f"{request.currency} is not a currency AcmePay moves"
            raise ValidationError("currency", msg, limit=", ".join(sorted(CURRENCIES)))
        payload: dict[str, Any] = {
            "currency": request.currency,
            "customer": request.customer_id,
        }
        if request.amount is not None:
            payload["amount"] = _amount_text(request.amount)
        if request.reference is not None:
            payload["reference"] = request.reference
        return HttpRequest.json(
            operation="start_deposit",
            method="POST",
            url=f"{self.settings.base_url}/v1/payments",
            payload=payload,
            headers={"authorization": f"Bearer {self.settings.api_key.reveal()}"},
        )

    def parse_deposit(self, request: DepositRequest, response: HttpResponse | None) -> DepositStart:
        """Read the created payment: where to pay, and the checkout URL.

        Raises:
            ProviderDeclinedError: AcmePay refused (its ``error.message``).
            MalformedPayloadError: any other answer.
        """
        if response is None:
            msg = "AcmePay deposits always need the payment-creation exchange"
            raise MalformedPayloadError(msg)
        data = _object(response.content, "the payment answer")
        error = data.get("error")
        if isinstance(error, dict):
            raise ProviderDeclinedError(str(error.get("message", "(no message)")))
        try:
            pay_to = data["pay_to"]
            details = PaymentDetails(
                method=str(pay_to["method"]),
                account=str(pay_to["account"]),
                currency=request.currency,
                raw=data,
            )
            url = str(data["checkout_url"])
        except (KeyError, TypeError) as exc:
            msg = f"the payment answer lacks {exc}"
            raise MalformedPayloadError(msg) from exc
        return DepositStart(
            provider=PROVIDER_ID,
            customer_id=request.customer_id,
            currency=request.currency,
            payment_details=details if request.payment_details else None,
            hosted_page_url=url if request.hosted_page else None,
        )

    def verify_postback(self, body: bytes, headers: Mapping[str, str]) -> PostbackEvent:
        """Check the HMAC-SHA256 signature over the raw body, then parse it.

        The event key is ``"<payment id>:<status>"``: a status change is a new event.

        Raises:
            PayloadTooLargeError: over ``max_postback_bytes``.
            SignatureError: a missing or wrong ``x-acmepay-signature``.
            MalformedPayloadError: not an AcmePay postback.
        """
        if len(body) > self.settings.max_postback_bytes:
            raise PayloadTooLargeError(len(body), self.settings.max_postback_bytes)
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "")
        expected = sign(body, self.settings.webhook_secret.reveal())
        if not hmac.compare_digest(given.encode(), expected.encode()):
            msg = f"{SIGNATURE_HEADER} does not match: wrong webhook_secret, or an altered body"
            raise SignatureError(msg)
        data = _object(body, "the postback")
        try:
            payment = data["payment"]
            status = STATUSES.map(payment["status"])
            return PostbackEvent(
                provider=PROVIDER_ID,
                kind=PostbackKind.DEPOSIT,
                event_key=f"{payment['id']}:{StatusMap.normalize(status.raw)}",
                status=status,
                amount=Money(payment["amount"], payment["currency"]),
                customer_id=payment.get("customer"),
                reference=payment.get("reference"),
                raw=data,
            )
        except (KeyError, TypeError) as exc:
            msg = f"the postback lacks {exc}"
            raise MalformedPayloadError(msg) from exc
        except PayplaneError as exc:
            raise MalformedPayloadError(exc.message) from exc

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """200 ``ok`` once recorded; 503 to have AcmePay send it again."""
        if accepted:
            return PostbackAnswer(status_code=200, content=b"ok")
        return PostbackAnswer(status_code=503, content=b"retry")
