"""AcmePay: deposits, lookups, refunds and header-signed postbacks, sans-I/O.

The wire protocol (fictional, in the shape of many card and wallet PSPs):

- Every call sends the secret key as ``Authorization: Bearer <api_key>``. Amounts travel
  as JSON integers in the currency's minor unit: 2550 is 25.50 USD, 1500 is 1500 JPY,
  12345 is 12.345 KWD.
- ``POST /v1/payments`` creates a payment: its id, a checkout URL, the account to pay to.
  With an ``Idempotency-Key`` header, sending it twice creates it once.
- ``GET /v1/payments/{id}`` fetches a payment, ``GET /v1/payments?reference=...`` lists
  the payments with that reference (``{"data": [...]}``); ``/v1/refunds`` likewise.
  404, or an empty list: no such payment.
- ``POST /v1/refunds`` returns (part of) a payment, keyed by ``Idempotency-Key``.
- Postbacks are JSON events, ``{"id": "evt_...", "type": "payment.updated", "data":
  {...}}``, signed with HMAC-SHA256 over the raw body in the ``x-acmepay-signature``
  header (``sha256=<hex>``). ``payment.*`` and ``refund.*`` events are about payments;
  every other type (``dispute.created``) is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from payplane import (
    DepositRequest,
    DepositStart,
    DepositStatus,
    Flow,
    HttpRequest,
    HttpResponse,
    LookupRequest,
    LookupResult,
    Money,
    OtherEvent,
    PaymentDetails,
    PaymentKind,
    PostbackAnswer,
    PostbackEvent,
    PostbackKind,
    RefundRequest,
    RefundResult,
    RefundStatus,
    Secret,
    StatusMap,
    secret_field,
)
from payplane.exceptions import (
    MalformedPayloadError,
    NotFoundError,
    PayloadTooLargeError,
    PayplaneError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)

__all__ = [
    "PAYMENT_STATUSES",
    "REFUND_STATUSES",
    "SIGNATURE_HEADER",
    "AcmeProvider",
    "AcmeSettings",
    "sign",
]

PROVIDER_ID = "acmepay"
SIGNATURE_HEADER = "x-acmepay-signature"
PAYMENT_STATUSES = StatusMap(
    DepositStatus,
    {
        "pending": DepositStatus.PENDING,
        "succeeded": DepositStatus.SUCCEEDED,
        "failed": DepositStatus.FAILED,
        "expired": DepositStatus.FAILED,
    },
)
"""AcmePay's payment statuses; any other maps to ``UNKNOWN``."""
REFUND_STATUSES = StatusMap(
    RefundStatus,
    {
        "pending": RefundStatus.PENDING,
        "succeeded": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
    },
)
"""AcmePay's refund statuses; any other maps to ``UNKNOWN``."""
_COLLECTIONS = {PaymentKind.DEPOSIT: "payments", PaymentKind.REFUND: "refunds"}
_STATUSES: dict[PaymentKind, StatusMap[Any]] = {
    PaymentKind.DEPOSIT: PAYMENT_STATUSES,
    PaymentKind.REFUND: REFUND_STATUSES,
}


def _https(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith("https://"):
        raise ValidationError(attribute.name, "must be an https URL", limit="https")


@attrs.frozen(kw_only=True)
class AcmeSettings:
    """How to reach AcmePay.

    Attributes:
        api_key: The merchant's secret API key (sent as a bearer token).
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


def _money(data: Mapping[str, Any], field: str) -> Money:
    """The amount *field* of *data*: an integer of minor units in ``data["currency"]``."""
    units, currency = data.get(field), data.get("currency")
    if type(units) is not int or not isinstance(currency, str):
        msg = f"{field} must be an integer of minor units with a currency, not {units!r}"
        raise MalformedPayloadError(msg)
    try:
        return Money.from_minor_units(units, currency)
    except PayplaneError as exc:
        raise MalformedPayloadError(exc.message) from exc


def _text(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        msg = f"{field} is missing"
        raise MalformedPayloadError(msg)
    return value


def _optional_text(data: Mapping[str, Any], field: str) -> str | None:
    return None if data.get(field) is None else _text(data, field)


class AcmeProvider:
    """AcmePay, sans-I/O: each operation is a flow of request descriptions (plugin API 2).

    Args:
        settings: The provider settings.
    """

    postback_headers = frozenset({SIGNATURE_HEADER})
    """The header a stored postback needs to be verified again."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"<AcmeProvider base_url={self.settings.base_url!r}>"

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        payload: object = None,
        *,
        idempotency_key: str | None = None,
        moves_money: bool = False,
        reference: str | None = None,
    ) -> HttpRequest:
        headers = {"authorization": f"Bearer {self.settings.api_key.reveal()}"}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        url = f"{self.settings.base_url}{path}"
        replay_safe = method == "GET" or idempotency_key is not None
        if payload is None:
            return HttpRequest(
                operation=operation,
                method=method,
                url=url,
                headers=headers,
                replay_safe=replay_safe,
                reference=reference,
            )
        return HttpRequest.json(
            operation=operation,
            method=method,
            url=url,
            payload=payload,
            headers=headers,
            moves_money=moves_money,
            replay_safe=replay_safe,
            reference=reference,
        )

    def _answer(self, response: HttpResponse, what: str) -> dict[str, Any]:
        """The answer's JSON object; AcmePay's ``error`` object raises ProviderDeclinedError."""
        data = _object(response.content, what)
        error = data.get("error")
        if isinstance(error, dict):
            raise ProviderDeclinedError(str(error.get("message", "(no message)")))
        return data

    # -- deposits --------------------------------------------------------------------

    def start_deposit(self, request: DepositRequest) -> Flow[DepositStart]:
        """Create the payment (one exchange); its answer has the checkout URL and account.

        The request's ``reference`` is sent as AcmePay's reference and idempotency key,
        so the creation is retried safely when the platform gives one.

        Raises:
            ProviderDeclinedError: AcmePay refused (its ``error.message``).
            MalformedPayloadError: any other answer.
        """
        payload: dict[str, Any] = {"currency": request.currency, "customer": request.customer_id}
        if request.amount is not None:
            payload["amount"] = request.amount.to_minor_units()
        if request.reference is not None:
            payload["reference"] = request.reference
        response = yield self._request(
            "start_deposit",
            "POST",
            "/v1/payments",
            payload,
            idempotency_key=request.reference,
        )
        data = self._answer(response, "the payment answer")
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
            reference=request.reference,
            provider_reference=_text(data, "id"),
            raw=data,
        )

    # -- lookups ---------------------------------------------------------------------

    def look_up(self, request: LookupRequest) -> Flow[LookupResult]:
        """Fetch a payment or a refund by AcmePay's id, or list it by the platform's reference.

        Raises:
            ValidationError: a withdrawal (AcmePay makes no payouts).
            NotFoundError: no such payment or refund.
            MalformedPayloadError: an answer that is not one.
        """
        found = yield from self._find(
            "look_up", request.kind, request.reference, request.provider_reference
        )
        return LookupResult(
            provider=PROVIDER_ID,
            kind=request.kind,
            reference=_optional_text(found, "reference"),
            provider_reference=_text(found, "id"),
            status=_STATUSES[request.kind].map(found.get("status")),
            amount=_money(found, "amount"),
            fee=_money(found, "fee") if "fee" in found else None,
            raw=found,
        )

    def _find(
        self, operation: str, kind: PaymentKind, reference: str | None, provider_id: str | None
    ) -> Flow[dict[str, Any]]:
        """One read: the payment or refund by id (preferred) or by reference."""
        collection = _COLLECTIONS.get(kind)
        if collection is None:
            msg = f"AcmePay makes no payouts: there is no {kind.value} to look up"
            raise ValidationError("kind", msg, limit="deposit or refund")
        if provider_id is not None:
            path = f"/v1/{collection}/{quote(provider_id, safe='')}"
        else:
            path = f"/v1/{collection}?{urlencode({'reference': reference})}"
        response = yield self._request(operation, "GET", path, reference=reference)
        wanted = provider_id or reference
        if response.status_code == 404:  # noqa: PLR2004 - HTTP Not Found
            msg = f"AcmePay has no {kind.value} {wanted!r}"
            raise NotFoundError(msg, kind=kind.value, reference=wanted)
        data = self._answer(response, f"the {kind.value} answer")
        if provider_id is not None:
            return data
        listed = data.get("data")
        if not isinstance(listed, list) or not all(isinstance(x, dict) for x in listed):
            msg = f"the {kind.value} list is not a list of objects"
            raise MalformedPayloadError(msg)
        if not listed:
            msg = f"AcmePay has no {kind.value} with reference {wanted!r}"
            raise NotFoundError(msg, kind=kind.value, reference=wanted)
        found: dict[str, Any] = listed[0]
        return found

    # -- refunds ---------------------------------------------------------------------

    def create_refund(self, request: RefundRequest) -> Flow[RefundResult]:
        """Refund (part of) a payment: look it up unless its id and amount are given, then refund.

        The lookup gives what is left to refund (the amount less what was refunded
        already), so a refund above it, or in another currency, is refused before the
        refund request is sent.

        Raises:
            ValidationError: ``amount`` above what is left, or in another currency.
            NotFoundError: no such payment.
            ProviderDeclinedError: AcmePay refused.
            MalformedPayloadError: an answer that is not one.
        """
        payment_id = request.deposit_provider_reference
        available = request.deposit_amount
        if payment_id is None or available is None:
            payment = yield from self._find(
                "create_refund", PaymentKind.DEPOSIT, request.deposit_reference, payment_id
            )
            payment_id = _text(payment, "id")
            available = _money(payment, "amount")
            if "amount_refunded" in payment:
                available -= _money(payment, "amount_refunded")
        amount = request.amount or available
        if amount.currency != available.currency:
            msg = f"amount is in {amount.currency}, the payment in {available.currency}"
            raise ValidationError("amount", msg, limit=f"currency {available.currency}")
        if amount > available:
            msg = f"{amount} is more than the {available} left to refund"
            raise ValidationError("amount", msg, limit=f"<= {available}")
        payload: dict[str, Any] = {
            "payment": payment_id,
            "amount": amount.to_minor_units(),
            "reference": request.reference,
        }
        if request.reason:
            payload["reason"] = request.reason
        response = yield self._request(
            "create_refund",
            "POST",
            "/v1/refunds",
            payload,
            idempotency_key=request.reference,
            moves_money=True,
            reference=request.reference,
        )
        data = self._answer(response, "the refund answer")
        status = REFUND_STATUSES.map(data.get("status"))
        if status.status is RefundStatus.UNKNOWN:
            # The refund may exist: the client reports an unknown outcome.
            msg = f"the refund answer has status {status.raw!r}"
            raise MalformedPayloadError(msg)
        return RefundResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            provider_reference=_text(data, "id"),
            deposit_provider_reference=payment_id,
            status=status,
            amount=_money(data, "amount"),
            raw=data,
        )

    # -- postbacks -------------------------------------------------------------------

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Check the HMAC-SHA256 signature in the header over the raw body, then parse it.

        The event key is the event's id: AcmePay sends each event once, and re-sends it
        with the same id until it is acknowledged.

        Raises:
            PayloadTooLargeError: over ``max_postback_bytes``.
            SignatureError: a missing or wrong ``x-acmepay-signature``.
            MalformedPayloadError: not an AcmePay event.
        """
        if len(body) > self.settings.max_postback_bytes:
            raise PayloadTooLargeError(len(body), self.settings.max_postback_bytes)
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "")
        expected = sign(body, self.settings.webhook_secret.reveal())
        if not hmac.compare_digest(given.encode(), expected.encode()):
            msg = f"{SIGNATURE_HEADER} does not match: wrong webhook_secret, or an altered body"
            raise SignatureError(msg)
        event = _object(body, "the postback")
        key, kind = _text(event, "id"), _text(event, "type")
        if not kind.startswith(("payment.", "refund.")):
            return OtherEvent(provider=PROVIDER_ID, event_key=key, event_type=kind, raw=event)
        data = event.get("data")
        if not isinstance(data, dict):
            msg = "the postback has no data object"
            raise MalformedPayloadError(msg)
        statuses = PAYMENT_STATUSES if kind.startswith("payment.") else REFUND_STATUSES
        return PostbackEvent(
            provider=PROVIDER_ID,
            kind=PostbackKind.DEPOSIT if kind.startswith("payment.") else PostbackKind.REFUND,
            event_key=key,
            status=statuses.map(data.get("status")),
            amount=_money(data, "amount"),
            customer_id=_optional_text(data, "customer"),
            reference=_optional_text(data, "reference"),
            provider_reference=_text(data, "id"),
            event_type=kind,
            raw=event,
        )

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """An empty 200 once recorded; 503 to have AcmePay send it again."""
        return PostbackAnswer(status_code=200 if accepted else 503)
