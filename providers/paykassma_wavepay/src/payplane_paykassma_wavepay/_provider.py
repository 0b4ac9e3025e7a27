"""The Paykassma Wavepay provider: sans-I/O deposits, activation, withdrawals, postbacks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from payplane import (
    ActivationOutcome,
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    Flow,
    HttpRequest,
    HttpResponse,
    MappedStatus,
    Money,
    PaymentDetails,
    PostbackAnswer,
    PostbackEvent,
    WithdrawalRequest,
    WithdrawalResult,
    WithdrawalStatus,
)
from payplane.exceptions import (
    InsufficientFundsError,
    IntegrityError,
    MalformedPayloadError,
    PayplaneError,
    ProviderDeclinedError,
    SignatureError,
    ValidationError,
)
from payplane_paykassma_wavepay._postbacks import POSTBACK_SCANNERS, PROVIDER_ID, event_from
from payplane_paykassma_wavepay._rawjson import loads
from payplane_paykassma_wavepay._settings import LANGUAGES, WavepaySettings
from payplane_paykassma_wavepay._signing import verify_body, withdrawal_signature
from payplane_paykassma_wavepay._wire import (
    Message,
    WireActivationAnswer,
    WireDepositAnswer,
    WireWithdrawalAnswer,
    structure,
)

__all__ = ["WavepayProvider"]

WALLET_TYPE = "wavepay"
CURRENCIES = frozenset({"MMK"})
HOSTED_PAGE_EXTRA = ("payment_url_success_id", "payment_url_fail_id", "payment_url_pending_id")
"""``DepositRequest.extra`` keys passed to the payment window (ids from Paykassma support)."""

_ACCOUNT_NUMBER = re.compile(r"[0-9]{10,11}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_INSUFFICIENT = "insufficient balance"
_BAD_SIGNATURE = "withdrawal signature is invalid"
_SERVER_ERROR = 500

_OK = {"content-type": "application/json"}
_ANSWER_OK = PostbackAnswer(status_code=200, content=b'{"status":"ok"}', headers=_OK)
_ANSWER_RETRY = PostbackAnswer(status_code=503, content=b'{"status":"error"}', headers=_OK)


# -- validation before sending -------------------------------------------------------


def _length(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        size = len(value) if isinstance(value, str) else type(value).__name__
        limit = f"{low}-{high} characters" if low else f"at most {high} characters"
        raise ValidationError(field, f"length {size} is outside {limit}", limit=limit)


def _currency(field: str, code: object) -> None:
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha()):  # noqa: PLR2004
        raise ValidationError(field, f"{code!r} is not a 3-letter code", limit="3 letters")
    if code not in CURRENCIES:
        msg = f"{code} is not a currency Paykassma Wavepay moves"
        raise ValidationError(field, msg, limit=" or ".join(sorted(CURRENCIES)))


def _whole(field: str, money: Money) -> int:
    """Return *money* as an integer number of units; Wavepay amounts are whole MMK."""
    if money.amount <= 0:
        raise ValidationError(field, f"{money} is not positive", limit="> 0")
    if not money.is_whole():
        msg = f"{money} has a fraction; Wavepay amounts are whole {money.currency}"
        raise ValidationError(field, msg, limit=f"whole {money.currency}")
    return int(money.amount)


def _language(request: DepositRequest, default: str) -> str:
    language = request.language or default
    if language not in LANGUAGES:
        msg = f"{language!r} is not a payment-window language"
        raise ValidationError("language", msg, limit="en or my")
    return language


# -- answers ---------------------------------------------------------------------------


def _answer(response: HttpResponse, what: str) -> dict[str, Any]:
    """Parse an API answer into a JSON object; 5xx and non-JSON are unclassifiable."""
    if response.status_code >= _SERVER_ERROR:
        msg = f"{what}: HTTP {response.status_code}"
        raise MalformedPayloadError(msg)
    try:
        data = loads(response.content)
    except MalformedPayloadError as exc:
        hint = (
            " (Paykassma answers 404 when the secret is missing or wrong: check "
            "pluginapi_secret and api_host)"
            if response.status_code == 404  # noqa: PLR2004
            else ""
        )
        msg = f"{what}: HTTP {response.status_code}, {exc.message}{hint}"
        raise MalformedPayloadError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{what}: HTTP {response.status_code}, the answer is not a JSON object"
        raise MalformedPayloadError(msg)
    return data


def _declined(message: Message | None) -> ProviderDeclinedError:
    if message is None:
        return ProviderDeclinedError("(no message)")
    return ProviderDeclinedError(message.text, field_errors=message.fields)


def _optional_money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


class WavepayProvider:
    """Paykassma Wavepay: builds HTTP request descriptions and parses the answers.

    Implements :class:`~payplane.DepositProvider`, :class:`~payplane.ActivationProvider`,
    :class:`~payplane.WithdrawalProvider` and :class:`~payplane.PostbackProvider` (plugin
    API 2); it performs no I/O (payplane's clients do). Each operation is one exchange:
    its flow sends what ``build_*`` describes and returns what ``parse_*`` makes of the
    answer; both halves are public for tests and tools. Paykassma documents no lookup
    or refund endpoint, so the provider declares neither.

    Args:
        settings: The provider settings.
    """

    def __init__(self, settings: WavepaySettings) -> None:
        self.settings = settings
        # Settings are frozen: the secret's query string is the same for every call.
        secret = settings.pluginapi_secret
        self._secret_query = None if secret is None else urlencode({"secret": secret.reveal()})

    def __repr__(self) -> str:
        return f"<WavepayProvider api_host={self.settings.api_host!r}>"

    # -- flows (plugin API 2) ------------------------------------------------------

    def start_deposit(self, request: DepositRequest) -> Flow[DepositStart]:
        """Fetch the wallet details (one exchange) and/or build the payment-window URL."""
        http = self.build_deposit(request)
        response = (yield http) if http is not None else None
        return self.parse_deposit(request, response)

    def activate_deposit(self, request: ActivationRequest) -> Flow[ActivationResult]:
        """Activate a deposit: one exchange, see :meth:`build_activation`."""
        response = yield self.build_activation(request)
        return self.parse_activation(request, response)

    def create_withdrawal(self, request: WithdrawalRequest) -> Flow[WithdrawalResult]:
        """Create a payout: one exchange, see :meth:`build_withdrawal`."""
        response = yield self.build_withdrawal(request)
        return self.parse_withdrawal(request, response)

    def _plugin_api_url(self, path: str, operation: str) -> str:
        """The plugin API URL of *path*, with ``?secret=``; *operation* needs both settings.

        Raises:
            ConfigurationError: ``api_host`` or ``pluginapi_secret`` is not set.
        """
        host = self.settings.needed("api_host", operation)
        self.settings.needed("pluginapi_secret", operation)
        return f"{host}{path}?{self._secret_query}"

    # -- deposits --------------------------------------------------------------------

    def _check_deposit(self, request: DepositRequest) -> None:
        _currency("currency", request.currency)
        _length("customer_id", request.customer_id, 1, 190)
        if request.reference is not None:
            _length("reference", request.reference, 1, 190)
        if request.amount is not None:
            _whole("amount", request.amount)
        if request.payment_details:
            for name in ("api_host", "pluginapi_secret"):
                self.settings.needed(name, "start_deposit (wallet details)")
        if request.hosted_page:
            self.settings.needed("plugin_host", "start_deposit (hosted page)")
            _language(request, self.settings.default_language)
            unknown = sorted(set(request.extra) - set(HOSTED_PAGE_EXTRA))
            if unknown:
                msg = f"unknown option(s) {', '.join(unknown)}"
                raise ValidationError("extra", msg, limit=", ".join(HOSTED_PAGE_EXTRA))

    def build_deposit(self, request: DepositRequest) -> HttpRequest | None:
        """Return the wallet-details request, or ``None`` when no details were asked for.

        The request is replay-safe: it only reads the wallet to pay to.

        Raises:
            ValidationError: currency not MMK, ``customer_id`` (label) or ``reference``
                over 190 characters, a fractional amount, a language other than en/my,
                an unknown ``extra`` option.
            ConfigurationError: a setting the request needs is not set (``api_host`` and
                ``pluginapi_secret`` for wallet details, ``plugin_host`` for the hosted
                page).
        """
        self._check_deposit(request)
        if not request.payment_details:
            return None
        return HttpRequest.json(
            operation="start_deposit",
            method="POST",
            url=self._plugin_api_url(
                f"/api/v1/transaction/create/{WALLET_TYPE}", "start_deposit (wallet details)"
            ),
            payload={"currency": request.currency, "label": request.customer_id},
            replay_safe=True,
        )

    def hosted_page_url(self, request: DepositRequest) -> str:
        """Return the payment-window URL for *request* (no HTTP exchange).

        Raises:
            ValidationError: as for :meth:`build_deposit`.
            ConfigurationError: ``plugin_host`` is not set.
        """
        self._check_deposit(request)
        host = self.settings.needed("plugin_host", "start_deposit (hosted page)")
        params: dict[str, str | int] = {
            "label": request.customer_id,
            "wallet_type": WALLET_TYPE,
            "currency_code": request.currency,
            "lang": _language(request, self.settings.default_language),
        }
        if request.reference is not None:
            params["custom_transaction_id"] = request.reference
        if request.amount is not None:
            params["fixed_amount"] = _whole("amount", request.amount)
        params.update(
            {name: request.extra[name] for name in HOSTED_PAGE_EXTRA if name in request.extra}
        )
        urls = {
            "success_url": request.success_url,
            "fail_url": request.fail_url,
            "pending_url": request.pending_url,
        }
        params.update({name: url for name, url in urls.items() if url is not None})
        return f"{host}/?{urlencode(params)}"

    def parse_deposit(self, request: DepositRequest, response: HttpResponse | None) -> DepositStart:
        """Return the wallet details (from *response*) and/or the payment-window URL.

        Raises:
            ProviderDeclinedError: ``{"status": "fail"}``.
            MalformedPayloadError: any other answer.
        """
        details = None
        if response is not None:
            data = _answer(response, "wallet details")
            wire = structure(data, WireDepositAnswer, what="the wallet-details answer")
            if wire.status == "fail":
                raise _declined(wire.message)
            if wire.status != "ok" or wire.params is None:
                msg = f"wallet details: unexpected answer with status {wire.status!r}"
                raise MalformedPayloadError(msg)
            details = PaymentDetails(
                method=WALLET_TYPE,
                account=wire.params.identifier,
                currency=request.currency,
                raw=data,
            )
        return DepositStart(
            provider=PROVIDER_ID,
            customer_id=request.customer_id,
            currency=request.currency,
            payment_details=details,
            hosted_page_url=self.hosted_page_url(request) if request.hosted_page else None,
        )

    # -- activation ------------------------------------------------------------------

    def build_activation(self, request: ActivationRequest) -> HttpRequest:
        """Return the activation request: it moves money and is not replay-safe.

        The amount goes as a JSON integer: the wire type is a float, and a whole MMK
        amount is exactly representable as one; fractions are refused.

        Raises:
            ValidationError: currency not MMK, a fractional amount, ``customer_id``
                (label) or ``reference`` over 190, ``transaction_id`` (key1) over 11
                characters.
            ConfigurationError: ``api_host`` or ``pluginapi_secret`` is not set.
        """
        _currency("amount.currency", request.amount.currency)
        amount = _whole("amount", request.amount)
        _length("customer_id", request.customer_id, 1, 190)
        _length("transaction_id", request.transaction_id, 1, 11)
        _length("reference", request.reference, 1, 190)
        payload = {
            "currency_code": request.amount.currency,
            "wallet_type": WALLET_TYPE,
            "label": request.customer_id,
            "key1": request.transaction_id,
            "amount": amount,
            "custom_transaction_id": request.reference,
        }
        return HttpRequest.json(
            operation="activate_deposit",
            method="POST",
            url=self._plugin_api_url("/api/v1/transaction/activate", "activate_deposit"),
            payload=payload,
            moves_money=True,
            replay_safe=False,
            reference=request.reference,
        )

    def parse_activation(
        self, request: ActivationRequest, response: HttpResponse
    ) -> ActivationResult:
        """Map the five activation answers onto :class:`~payplane.ActivationOutcome`.

        ``ok`` with ``deposit: true`` is ``CREDITED``; ``ok`` with ``deposit: false``
        ``BELOW_MINIMUM``; ``pending`` ``PENDING``; ``possible_transaction_created``
        ``UNDER_REVIEW``; ``fail`` ``REJECTED`` (an outcome, not an exception).

        Raises:
            MalformedPayloadError: any other answer (the client reports an unknown outcome).
            IntegrityError: the answer's currency is not the request's.
        """
        data = _answer(response, "activation")
        wire = structure(data, WireActivationAnswer, what="the activation answer")
        message = wire.message.text if wire.message is not None else None
        currency = request.amount.currency
        if wire.currency is not None and wire.currency.code != currency:
            msg = f"the activation answer is in {wire.currency.code}, the request in {currency}"
            raise IntegrityError(msg)

        def result(outcome: ActivationOutcome, **amounts: Money | None) -> ActivationResult:
            return ActivationResult(
                provider=PROVIDER_ID,
                reference=request.reference,
                outcome=MappedStatus(outcome, wire.status),
                message=message,
                raw=data,
                **amounts,
            )

        if wire.status == "ok" and wire.deposit is True:
            if wire.deposit_amount is None:
                msg = "activation: deposit credited but no deposit_amount"
                raise MalformedPayloadError(msg)
            return result(ActivationOutcome.CREDITED, credited=Money(wire.deposit_amount, currency))
        if wire.status == "ok" and wire.deposit is False:
            return result(
                ActivationOutcome.BELOW_MINIMUM,
                transactions_sum=_optional_money(wire.transactions_sum, currency),
                accumulated=_optional_money(wire.stockpiling_sum, currency),
                missing=_optional_money(wire.lacks_sum, currency),
                minimum=_optional_money(wire.minimum_deposit, currency),
            )
        outcome = {
            "pending": ActivationOutcome.PENDING,
            "possible_transaction_created": ActivationOutcome.UNDER_REVIEW,
            "fail": ActivationOutcome.REJECTED,
        }.get(wire.status)
        if outcome is None:
            msg = f"activation: unknown answer (status {wire.status!r}, deposit {wire.deposit!r})"
            raise MalformedPayloadError(msg)
        return result(outcome)

    # -- withdrawals -----------------------------------------------------------------

    def withdrawal_payload(self, request: WithdrawalRequest) -> dict[str, Any]:
        """Return the signed JSON fields of a withdrawal request.

        Raises:
            ValidationError: see :meth:`build_withdrawal`.
            ConfigurationError: ``withdrawal_private_key`` is not set.
        """
        _length("reference", request.reference, 1, 36)
        _length("customer_id", request.customer_id, 1, 36)
        _currency("amount.currency", request.amount.currency)
        amount = _whole("amount", request.amount)
        beneficiary = request.beneficiary
        account = request.account_number or (beneficiary.account_number if beneficiary else None)
        if account is None or _ACCOUNT_NUMBER.fullmatch(account) is None:
            msg = "a Wavepay account number is 10 or 11 digits"
            raise ValidationError("account_number", msg, limit="10-11 digits")
        email = request.account_email or (beneficiary.email if beneficiary else None)
        if not email:
            raise ValidationError("account_email", "Wavepay needs it", limit="required")
        if _EMAIL.fullmatch(email) is None:
            raise ValidationError("account_email", "not an email address", limit="email")
        if request.extra:
            msg = f"unknown option(s) {', '.join(sorted(request.extra))}"
            raise ValidationError("extra", msg, limit="none")
        fields: dict[str, Any] = {
            "withdrawal_id": request.reference,
            "payment_system": WALLET_TYPE,
            "amount": amount,
            "currency_code": request.amount.currency,
            "is_test": request.test,
            "label": request.customer_id,
            "account_email": email,
            "account_number": account,
        }
        if request.comment is not None:
            fields["comment"] = request.comment
        key = self.settings.needed("withdrawal_private_key", "create_withdrawal")
        fields["signature"] = withdrawal_signature(fields, key.reveal())
        return fields

    def build_withdrawal(self, request: WithdrawalRequest) -> HttpRequest:
        """Return the signed withdrawal request (moves money, not replay-safe).

        Whether Paykassma honours a repeated ``withdrawal_id`` is unknown, so the client
        never resends it after it may have arrived.

        Raises:
            ValidationError: ``reference`` (withdrawal_id) or ``customer_id`` (label)
                outside 1-36 characters, currency not MMK, an amount that is not a
                positive whole number, an account number that is not 10-11 digits, a
                missing or malformed ``account_email``, any ``extra`` option.
            ConfigurationError: ``api_host`` or ``withdrawal_private_key`` is not set.
        """
        host = self.settings.needed("api_host", "create_withdrawal")
        return HttpRequest.json(
            operation="create_withdrawal",
            method="POST",
            url=f"{host}/v2/withdrawal/create",
            payload=self.withdrawal_payload(request),
            moves_money=True,
            replay_safe=False,
            reference=request.reference,
        )

    def parse_withdrawal(
        self, request: WithdrawalRequest, response: HttpResponse
    ) -> WithdrawalResult:
        """Map the answer: accepted (``PENDING``, final status by postback) or an error.

        Raises:
            InsufficientFundsError: "Insufficient balance", as a string or per field.
            SignatureError: "Withdrawal signature is invalid": the withdrawal private key
                in the settings is probably wrong.
            ProviderDeclinedError: any other ``fail``.
            IntegrityError: the echoed request has another id, amount or currency.
            MalformedPayloadError: anything else (the client reports an unknown outcome).
        """
        data = _answer(response, "withdrawal")
        wire = structure(data, WireWithdrawalAnswer, what="the withdrawal answer")
        if wire.status == "fail":
            message = wire.message
            text = message.text if message is not None else ""
            if _BAD_SIGNATURE in text.lower():
                msg = (
                    "Paykassma rejected the withdrawal signature: the withdrawal_private_key "
                    "setting is probably wrong"
                )
                raise SignatureError(msg)
            if _INSUFFICIENT in text.lower():
                assert message is not None  # noqa: S101 - text is non-empty
                raise InsufficientFundsError(message.text, field_errors=message.fields)
            raise _declined(message)
        # Paykassma's published success example is the request echoed without a status.
        echoed = wire.status is None and wire.withdrawal_id is not None
        if wire.status != "ok" and not echoed:
            msg = f"withdrawal: unknown answer (status {wire.status!r})"
            raise MalformedPayloadError(msg)
        self._check_echo(request, wire)
        return WithdrawalResult(
            provider=PROVIDER_ID,
            reference=request.reference,
            status=MappedStatus(WithdrawalStatus.PENDING, wire.status),
            amount=request.amount,
            raw=data,
        )

    @staticmethod
    def _check_echo(request: WithdrawalRequest, wire: WireWithdrawalAnswer) -> None:
        mismatches = []
        if wire.withdrawal_id is not None and wire.withdrawal_id != request.reference:
            mismatches.append(f"withdrawal_id {wire.withdrawal_id!r} for {request.reference!r}")
        if wire.currency_code is not None and wire.currency_code != request.amount.currency:
            mismatches.append(f"currency {wire.currency_code} for {request.amount.currency}")
        if wire.amount is not None and wire.amount != request.amount.amount:
            mismatches.append(f"amount {wire.amount} for {request.amount.amount}")
        if mismatches:
            msg = "the withdrawal answer contradicts the request: " + ", ".join(mismatches)
            raise IntegrityError(msg)

    # -- postbacks -------------------------------------------------------------------

    def verify_postback(
        self,
        body: bytes,
        headers: Mapping[str, str],  # noqa: ARG002 - the protocol's; Paykassma signs no header
    ) -> PostbackEvent:
        """Verify a postback body, then parse it, signed data deciding (headers are not used).

        The event's kind, amount, currency and transactions come from the signed
        ``additional_data`` (legacy: ``transactions``); ``customer_id`` and
        ``occurred_at`` come from unsigned members, as ``event.unsigned`` says.

        Raises:
            PayloadTooLargeError: over ``max_postback_bytes``.
            SignatureError: wrong ``access_key`` or signature.
            MalformedPayloadError: not a postback; an unsigned ``direction``, ``amount``,
                ``currency_code`` or ``wallet_type`` contradicting the signed entries;
                a repeated name in the signed member; nesting deeper than 32 levels;
                numbers or text the event could not hold (see the provider's page).
        """
        settings = self.settings
        verified = verify_body(
            body,
            settings.postback_access_key.reveal(),
            settings.postback_private_key.reveal(),
            max_bytes=settings.max_postback_bytes,
            scanners=POSTBACK_SCANNERS,
        )
        try:
            return event_from(verified, settings.postback_timezone)
        except (MalformedPayloadError, SignatureError):
            raise
        except PayplaneError as exc:
            raise MalformedPayloadError(exc.message) from exc

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """Return the answer to a postback.

        Accepted (repeats too): 200 ``{"status":"ok"}``. Otherwise 503
        ``{"status":"error"}``, which makes Paykassma send the postback again later.
        """
        return _ANSWER_OK if accepted else _ANSWER_RETRY
