"""FakePSP: a fictional provider that exercises every capability of the core (plugin API 2).

Its wire protocol is deliberately simple: JSON bodies with amounts as decimal strings,
an ``api-key`` header, and postbacks signed with HMAC-SHA256 over the raw body in an
``x-signature`` header. Each operation is a flow (a generator of requests):

- ``POST /deposits`` for the payment details (the hosted page URL is built locally);
- ``POST /activations`` (moves money, not replay-safe);
- a withdrawal to an ``account_number`` is one ``POST /withdrawals`` (moves money,
  replay-safe: FakePSP honours the reference as an idempotency key); one to a
  :class:`~payplane.Beneficiary` registers it first (``POST /beneficiaries``, replay-safe,
  no money) and pays it second. A payout may answer ``otp_required``: the provider
  call :meth:`FakeProvider.finalise_withdrawal` (a flow run with ``Client.run``) sends
  the one-time password (``POST /withdrawals/{reference}/otp``, moves money, not
  replay-safe);
- lookups are ``GET /lookup/{kind}?reference=...`` or ``?id=...`` (404: not found);
- a refund without ``deposit_amount`` looks the deposit up first (to refuse more than it,
  or another currency), then ``POST /refunds`` (moves money, replay-safe).
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

import payplane
from payplane import (
    ActivationOutcome,
    Capability,
    DepositStatus,
    Flow,
    HttpRequest,
    HttpResponse,
    MappedStatus,
    Money,
    PaymentKind,
    PostbackKind,
    RefundStatus,
    Secret,
    StatusMap,
    WithdrawalStatus,
)
from payplane.exceptions import (
    InsufficientFundsError,
    MalformedPayloadError,
    NotFoundError,
    PayloadTooLargeError,
    PayplaneError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)
from payplane.hookspecs import hookimpl
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe

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
        "otp_required": WithdrawalStatus.PENDING,
        "paid": WithdrawalStatus.SUCCEEDED,
        "failed": WithdrawalStatus.FAILED,
        "reversed": WithdrawalStatus.REVERSED,
    },
)
DEPOSIT = StatusMap(
    DepositStatus, {"paid": DepositStatus.SUCCEEDED, "failed": DepositStatus.FAILED}
)
REFUND = StatusMap(
    RefundStatus,
    {
        "pending": RefundStatus.PENDING,
        "processed": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
    },
)
_BY_KIND: dict[PaymentKind, StatusMap[Any]] = {
    PaymentKind.DEPOSIT: DEPOSIT,
    PaymentKind.WITHDRAWAL: WITHDRAWAL,
    PaymentKind.REFUND: REFUND,
}
_OTP_DIGITS = 6


def sign(body: bytes, secret: str) -> str:
    """Sign a FakePSP postback body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _text(data: Mapping[str, Any], field: str, default: str | None = None) -> str | None:
    value = data.get(field, default)
    if value is not None and not isinstance(value, str):
        msg = f"{field} {value!r} is not text"
        raise MalformedPayloadError(msg)
    return value


def _money(data: Mapping[str, Any], field: str, currency: str) -> Money | None:
    value = data.get(field)
    if value is None:
        return None
    try:
        return Money(str(value), currency)
    except PayplaneError as exc:
        msg = f"{field} {value!r} is not an amount"
        raise MalformedPayloadError(msg) from exc


class FakeProvider:
    """Sans-I/O FakePSP implementation.

    The ``build_*``/``parse_*`` halves of each single exchange are kept as methods, so
    tests can override one half (a subclass that builds another request).
    """

    postback_headers = frozenset({"x-signature"})

    def __init__(self, settings: FakeSettings) -> None:
        self.settings = settings

    def _json(self, response: HttpResponse) -> dict[str, Any]:
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

    def _request(
        self, operation: str, method: str, path: str, payload: object = None, **kw: Any
    ) -> HttpRequest:
        headers = {"api-key": self.settings.api_key.reveal()}
        url = f"{self.settings.base_url}{path}"
        if payload is None:
            return HttpRequest(operation=operation, method=method, url=url, headers=headers, **kw)
        return HttpRequest.json(
            operation=operation, method=method, url=url, payload=payload, headers=headers, **kw
        )

    def _post(self, operation: str, path: str, payload: object, **kw: Any) -> HttpRequest:
        return self._request(operation, "POST", path, payload, **kw)

    # -- deposits --------------------------------------------------------------------

    def start_deposit(self, request: payplane.DepositRequest) -> Flow[payplane.DepositStart]:
        """One exchange for the payment details, none for a hosted page only."""
        http = self.build_deposit(request)
        response = (yield http) if http is not None else None
        return self.parse_deposit(request, response)

    def build_deposit(self, request: payplane.DepositRequest) -> HttpRequest | None:
        if not request.payment_details:
            return None
        payload = {"customer": request.customer_id}
        if request.amount is not None:
            payload["amount"] = str(request.amount.amount)
        return self._post("start_deposit", "/deposits", payload, replay_safe=True)

    def parse_deposit(
        self, request: payplane.DepositRequest, response: HttpResponse | None
    ) -> payplane.DepositStart:
        details = None
        provider_reference = None
        if response is not None:
            data = self._json(response)
            account = _text(data, "account")
            if account is None:
                msg = "no account in the deposit answer"
                raise MalformedPayloadError(msg)
            details = payplane.PaymentDetails(
                method="fakewallet", account=account, currency=request.currency, raw=data
            )
            provider_reference = _text(data, "id")
        url = None
        if request.hosted_page:
            query = {"customer": request.customer_id}
            if request.amount is not None:
                query["amount"] = str(request.amount.amount)
            url = f"{self.settings.base_url}/pay?" + urlencode(query)
        return payplane.DepositStart(
            provider=PROVIDER_ID,
            customer_id=request.customer_id,
            currency=request.currency,
            payment_details=details,
            hosted_page_url=url,
            reference=request.reference,
            provider_reference=provider_reference,
        )

    # -- activation ------------------------------------------------------------------

    def activate_deposit(
        self, request: payplane.ActivationRequest
    ) -> Flow[payplane.ActivationResult]:
        """One money-moving exchange, not replay-safe."""
        response = yield self.build_activation(request)
        return self.parse_activation(request, response)

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
        return payplane.ActivationResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            outcome=ACTIVATION.map(data["status"]),
            credited=_money(data, "credited", currency),
            raw=data,
        )

    # -- withdrawals -----------------------------------------------------------------

    def create_withdrawal(
        self, request: payplane.WithdrawalRequest
    ) -> Flow[payplane.WithdrawalResult]:
        """Pay an account (one exchange), or register a beneficiary and pay it (two)."""
        beneficiary_id = None
        if request.beneficiary is not None:
            registered = self._json((yield self.build_beneficiary(request)))
            beneficiary_id = registered.get("beneficiary")
            if not isinstance(beneficiary_id, str) or not beneficiary_id:
                msg = f"no beneficiary id in {registered!r}"
                raise MalformedPayloadError(msg)
        response = yield self.build_withdrawal(request, beneficiary_id)
        return self.parse_withdrawal(request, response)

    def build_beneficiary(self, request: payplane.WithdrawalRequest) -> HttpRequest:
        """Register ``request.beneficiary``: replay-safe (keyed on the reference), no money."""
        beneficiary = request.beneficiary
        assert beneficiary is not None
        return self._post(
            "create_withdrawal",
            "/beneficiaries",
            {
                "ref": request.reference,
                "name": beneficiary.holder_name,
                "account": beneficiary.account_number,
                "bank_code": beneficiary.bank_code,
                "vpa": beneficiary.vpa,
            },
            replay_safe=True,
            reference=request.reference,
        )

    def build_withdrawal(
        self, request: payplane.WithdrawalRequest, beneficiary_id: str | None = None
    ) -> HttpRequest:
        payload: dict[str, object] = {
            "id": request.reference,
            "amount": str(request.amount.amount),
        }
        if beneficiary_id is None:
            payload["to"] = request.account_number
        else:
            payload["beneficiary"] = beneficiary_id
        return self._post(
            "create_withdrawal",
            "/withdrawals",
            payload,
            moves_money=True,
            replay_safe=True,  # FakePSP honours the id as an idempotency key
            reference=request.reference,
        )

    def parse_withdrawal(
        self, request: payplane.WithdrawalRequest, response: HttpResponse
    ) -> payplane.WithdrawalResult:
        return self._withdrawal_result(request.reference, request.amount, self._json(response))

    def _withdrawal_result(
        self, reference: str, amount: Money, data: dict[str, Any]
    ) -> payplane.WithdrawalResult:
        status = WITHDRAWAL.map(data.get("status"))
        if status.status is WithdrawalStatus.UNKNOWN:
            msg = f"unclassifiable status {status.raw!r}"
            raise MalformedPayloadError(msg)
        return payplane.WithdrawalResult(
            provider=PROVIDER_ID,
            reference=reference,
            status=status,
            amount=amount,
            raw=data,
            provider_reference=_text(data, "payout"),
            fee=_money(data, "fee", amount.currency),
        )

    def finalise_withdrawal(
        self, reference: str, otp: str, amount: Money
    ) -> Flow[payplane.WithdrawalResult]:
        """FakePSP's own call: send the one-time password a payout answered ``otp_required`` for.

        Run it with ``client.run(client.provider.finalise_withdrawal(...))``. The OTP
        releases the money: the request moves money and is not replay-safe.

        Raises:
            ValidationError: *otp* is not six digits (nothing is sent).
            ProviderDeclinedError: FakePSP refused the OTP.
            MalformedPayloadError: an answer it cannot classify.
        """
        if not (len(otp) == _OTP_DIGITS and otp.isascii() and otp.isdigit()):
            raise ValidationError("otp", "must be six digits", limit="6 digits")
        response = yield self._post(
            "finalise_withdrawal",
            f"/withdrawals/{quote(reference, safe='')}/otp",
            {"otp": otp},
            moves_money=True,
            reference=reference,
        )
        return self._withdrawal_result(reference, amount, self._json(response))

    # -- lookups ---------------------------------------------------------------------

    def look_up(self, request: payplane.LookupRequest) -> Flow[payplane.LookupResult]:
        """One read: ``GET /lookup/{kind}`` by reference (preferred) or by FakePSP's id."""
        response = yield self._lookup_request(
            request.kind, request.reference, request.provider_reference
        )
        data = self._found(request.kind, request, response)
        currency = data.get("currency")
        if not isinstance(currency, str):
            msg = f"no currency in {data!r}"
            raise MalformedPayloadError(msg)
        status: Any = _BY_KIND[request.kind].map(data.get("status"))
        return payplane.LookupResult(
            provider=PROVIDER_ID,
            kind=request.kind,
            reference=_text(data, "reference", request.reference),
            provider_reference=_text(data, "id", request.provider_reference),
            status=status,
            amount=_money(data, "amount", currency),
            fee=_money(data, "fee", currency),
            raw=data,
        )

    def _lookup_request(
        self, kind: PaymentKind, reference: str | None, provider_reference: str | None
    ) -> HttpRequest:
        query = {"reference": reference} if reference is not None else {"id": provider_reference}
        return self._request(
            "look_up",
            "GET",
            f"/lookup/{kind.value}?{urlencode(query)}",
            replay_safe=True,
            reference=reference,
        )

    def _found(
        self,
        kind: PaymentKind,
        request: payplane.LookupRequest | payplane.RefundRequest,
        response: HttpResponse,
    ) -> dict[str, Any]:
        if response.status_code == 404:
            if isinstance(request, payplane.LookupRequest):
                wanted = request.reference or request.provider_reference
            else:
                wanted = request.deposit_reference or request.deposit_provider_reference
            msg = f"no {kind.value} {wanted!r}"
            raise NotFoundError(msg, kind=kind.value, reference=wanted)
        return self._json(response)

    # -- refunds ---------------------------------------------------------------------

    def create_refund(self, request: payplane.RefundRequest) -> Flow[payplane.RefundResult]:
        """Refund a deposit; without ``deposit_amount``, look the deposit up first.

        Raises:
            ValidationError: ``amount`` is over the deposit's, or in another currency
                (found by the lookup; nothing is refunded).
            NotFoundError: FakePSP knows no such deposit.
        """
        deposit_amount = request.deposit_amount
        if deposit_amount is None:
            lookup = self._lookup_request(
                PaymentKind.DEPOSIT, request.deposit_reference, request.deposit_provider_reference
            )
            answer = yield attrs.evolve(lookup, operation="create_refund")
            deposit = self._found(PaymentKind.DEPOSIT, request, answer)
            currency = deposit.get("currency")
            found = _money(deposit, "amount", currency) if isinstance(currency, str) else None
            if found is None:
                msg = f"the deposit's amount is not in {deposit!r}"
                raise MalformedPayloadError(msg)
            deposit_amount = found
        amount = request.amount or deposit_amount
        if amount.currency != deposit_amount.currency:
            msg = f"amount is in {amount.currency}, the deposit in {deposit_amount.currency}"
            raise ValidationError("amount", msg, limit=f"currency {deposit_amount.currency}")
        if amount > deposit_amount:
            msg = f"{amount} is more than the deposit's {deposit_amount}"
            raise ValidationError("amount", msg, limit=f"<= {deposit_amount}")
        response = yield self._post(
            "create_refund",
            "/refunds",
            {
                "id": request.reference,
                "deposit": request.deposit_reference or request.deposit_provider_reference,
                "amount": str(amount.amount),
            },
            moves_money=True,
            replay_safe=True,  # keyed on the refund's id
            reference=request.reference,
        )
        if response.status_code == 404:
            self._found(PaymentKind.DEPOSIT, request, response)
        data = self._json(response)
        status = REFUND.map(data.get("status"))
        if status.status is RefundStatus.UNKNOWN:
            msg = f"unclassifiable refund status {status.raw!r}"
            raise MalformedPayloadError(msg)
        return payplane.RefundResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            provider_reference=_text(data, "refund"),
            deposit_provider_reference=_text(data, "payment", request.deposit_provider_reference),
            status=status,
            amount=amount,
            fee=_money(data, "fee", amount.currency),
            raw=data,
        )

    # -- postbacks -------------------------------------------------------------------

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> payplane.PostbackEvent | payplane.OtherEvent:
        if len(body) > self.settings.max_body:
            raise PayloadTooLargeError(len(body), self.settings.max_body)
        given = {k.lower(): v for k, v in headers.items()}.get("x-signature", "")
        expected = sign(body, self.settings.webhook_secret.reveal())
        if not hmac.compare_digest(given.encode(), expected.encode()):
            msg = "x-signature does not match"
            raise SignatureError(msg)
        try:
            data = json.loads(body, parse_float=Decimal)
            kind = PostbackKind(data["kind"])
            if kind is PostbackKind.OTHER:
                return payplane.OtherEvent(
                    provider=PROVIDER_ID,
                    event_key=f"other:{data['id']}",
                    event_type=str(data.get("type", "")) or None,
                    raw=data,
                )
            amount = Money(data["amount"], data["currency"])
            key = f"{kind.value}:{data['id']}:{data['status']}"
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"not a FakePSP postback: {exc!r}"
            raise MalformedPayloadError(msg) from exc
        tables: dict[PostbackKind, StatusMap[Any]] = {
            PostbackKind.DEPOSIT: DEPOSIT,
            PostbackKind.WITHDRAWAL: WITHDRAWAL,
            PostbackKind.REFUND: REFUND,
        }
        table = tables[kind]
        status: MappedStatus[Any] = table.map(data["status"])
        return payplane.PostbackEvent(
            provider=PROVIDER_ID,
            kind=kind,
            event_key=key,
            status=status,
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
    capabilities=set(Capability),
    currencies={"USD", "MMK", "KWD", "JPY"},
    api_version=payplane.PLUGIN_API_VERSION,
    settings=FakeSettings,
    factory=FakeProvider,
)


@hookimpl
def payplane_providers() -> list[payplane.ProviderSpec]:
    """FakePSP's spec."""
    return [SPEC]


# -- contract samples ----------------------------------------------------------------

SAMPLE_SETTINGS = {
    "base_url": "https://fakepsp.test",
    "api_key": TEST_API_KEY,
    "webhook_secret": TEST_WEBHOOK_SECRET,
}


def _answer(payload: object, status_code: int = 200) -> HttpResponse:
    return HttpResponse(status_code=status_code, content=json.dumps(payload).encode())


def signed_postback(payload: dict[str, Any]) -> SignedPostback:
    """A FakePSP postback of *payload*, signed with the sample webhook secret."""
    body = json.dumps(payload).encode()
    kind = PostbackKind(payload["kind"])
    key = (
        f"other:{payload['id']}"
        if kind is PostbackKind.OTHER
        else f"{kind.value}:{payload['id']}:{payload['status']}"
    )
    amount = None if kind is PostbackKind.OTHER else Money(payload["amount"], payload["currency"])
    return SignedPostback(
        body=body,
        headers={"x-signature": sign(body, TEST_WEBHOOK_SECRET)},
        event_key=key,
        kind=kind,
        amount=amount,
        signed_headers={"x-signature"},
        name=f"{kind.value} postback",
    )


def _withdrawal_postback(status: object) -> SignedPostback:
    return signed_postback(
        {"kind": "withdrawal", "id": "wd-1", "status": status, "amount": "25.50", "currency": "USD"}
    )


_DEPOSIT = payplane.DepositRequest(
    customer_id="user-1", currency="USD", amount=Money("10.00", "USD"), reference="dep-1"
)
_ACTIVATION = payplane.ActivationRequest(
    customer_id="user-1", amount=Money("10.00", "USD"), transaction_id="T-1", reference="act-1"
)
_WITHDRAWAL = payplane.WithdrawalRequest(
    customer_id="user-1", amount=Money("25.50", "USD"), account_number="0123", reference="wd-1"
)
_TO_BENEFICIARY = payplane.WithdrawalRequest(
    customer_id="user-1",
    amount=Money("25.50", "USD"),
    beneficiary=payplane.Beneficiary(holder_name="A. User", vpa="user@bank"),
    reference="wd-2",
)
_LOOKUP = payplane.LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep-1")
_PAID_DEPOSIT = {
    "id": "pay_1",
    "reference": "dep-1",
    "status": "paid",
    "amount": "10.00",
    "currency": "USD",
}


def _withdrawal_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=_TO_BENEFICIARY,
        responses=[_answer({"beneficiary": "ben_1"}), _answer({"status": status})],
        name=f"payout to a beneficiary ({status!r})",
    )


def _refund_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=payplane.RefundRequest(deposit_reference="dep-1", reference="rf-2"),
        responses=[_answer(_PAID_DEPOSIT), _answer({"status": status, "refund": "rf_2"})],
        name=f"full refund after a lookup ({status!r})",
    )


def _lookup_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=_LOOKUP,
        response=_answer(_PAID_DEPOSIT | {"status": status}),
        name=f"deposit lookup ({status!r})",
    )


def contract_samples() -> ContractSamples:
    """FakePSP's samples: single and multi-step flows, lookups, refunds, every event kind."""
    return ContractSamples(
        settings=SAMPLE_SETTINGS,
        postbacks=[
            signed_postback(
                {"kind": "deposit", "id": "d1", "status": "paid", "amount": "10", "currency": "USD"}
            ),
            _withdrawal_postback("paid"),
            signed_postback(
                {
                    "kind": "refund",
                    "id": "rf-1",
                    "status": "processed",
                    "amount": "4.00",
                    "currency": "USD",
                }
            ),
            signed_postback({"kind": "other", "id": "dsp_1", "type": "dispute.created"}),
        ],
        answers=[
            RecordedAnswer(
                request=_DEPOSIT,
                response=_answer({"account": "ACC-1", "id": "pay_1"}),
                name="payment details",
            ),
            RecordedAnswer(
                request=attrs.evolve(_DEPOSIT, payment_details=False),
                name="hosted page only (no exchange)",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer({"status": "credited", "credited": "10.00"}),
                expected=ActivationOutcome.CREDITED,
                name="activation credited",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer({"status": "rejected"}),
                expected=ActivationOutcome.REJECTED,
                name="activation rejected",
            ),
            RecordedAnswer(
                request=_WITHDRAWAL,
                response=_answer({"status": "queued", "payout": "po_1"}),
                expected=WithdrawalStatus.PENDING,
                name="payout queued",
            ),
            RecordedAnswer(
                request=_WITHDRAWAL,
                response=_answer({"error": "insufficient"}),
                expected=InsufficientFundsError,
                name="payout over the balance",
            ),
            RecordedAnswer(
                request=_TO_BENEFICIARY,
                responses=[
                    _answer({"beneficiary": "ben_1"}),
                    _answer({"status": "otp_required", "payout": "po_2"}),
                ],
                expected=WithdrawalStatus.PENDING,
                name="payout to a beneficiary, OTP required",
            ),
            RecordedAnswer(
                request=_LOOKUP,
                response=_answer(_PAID_DEPOSIT),
                expected=DepositStatus.SUCCEEDED,
                name="deposit looked up",
            ),
            RecordedAnswer(
                request=payplane.LookupRequest(kind=PaymentKind.WITHDRAWAL, reference="wd-404"),
                response=_answer({"error": "not_found"}, 404),
                expected=NotFoundError,
                name="unknown payout",
            ),
            RecordedAnswer(
                request=payplane.RefundRequest(
                    deposit_reference="dep-1",
                    amount=Money("4.00", "USD"),
                    deposit_amount=Money("10.00", "USD"),
                    reference="rf-1",
                ),
                response=_answer({"status": "pending", "refund": "rf_1"}),
                expected=RefundStatus.PENDING,
                name="partial refund",
            ),
            attrs.evolve(_refund_answer("processed"), expected=RefundStatus.SUCCEEDED),
        ],
        status_probes=[
            StatusProbe(
                name="withdrawal postback status",
                known=WITHDRAWAL.table,
                carrier=_withdrawal_postback,
            ),
            StatusProbe(
                name="payout answer status", known=WITHDRAWAL.table, carrier=_withdrawal_answer
            ),
            StatusProbe(name="refund answer status", known=REFUND.table, carrier=_refund_answer),
            StatusProbe(name="deposit lookup status", known=DEPOSIT.table, carrier=_lookup_answer),
        ],
        request_templates=[
            payplane.WithdrawalRequest(
                customer_id="user-1",
                amount=Money("7", "JPY"),
                beneficiary=payplane.Beneficiary(account_number="0123", bank_code="B1"),
            )
        ],
    )


@hookimpl
def payplane_contract_samples(provider: str) -> ContractSamples | None:
    """FakePSP's contract samples."""
    return contract_samples() if provider == PROVIDER_ID else None
