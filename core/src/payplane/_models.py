"""Provider-neutral records for the four capabilities.

No wire names here: each provider maps these onto its own JSON.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import attrs

from payplane._money import Money, iso_currency
from payplane._status import (
    ActivationOutcome,
    DepositStatus,
    MappedStatus,
    RefundStatus,
    WithdrawalStatus,
)
from payplane.exceptions import ValidationError

__all__ = [
    "ActivationRequest",
    "ActivationResult",
    "Beneficiary",
    "DepositRequest",
    "DepositStart",
    "LookupRequest",
    "LookupResult",
    "OtherEvent",
    "PaymentDetails",
    "PaymentKind",
    "PostbackEvent",
    "PostbackKind",
    "PostbackTransaction",
    "RefundRequest",
    "RefundResult",
    "WithdrawalRequest",
    "WithdrawalResult",
    "new_reference",
]


PaymentStatus = (
    MappedStatus[DepositStatus] | MappedStatus[WithdrawalStatus] | MappedStatus[RefundStatus]
)
"""A payment's neutral status: of a deposit, a withdrawal or a refund."""


def new_reference() -> str:
    """Return a fresh reference: a random UUID in its 36-character text form."""
    return str(uuid.uuid4())


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _non_empty(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = "must be a non-empty string"
        raise ValidationError(attribute.name, msg, limit="non-empty")


# C0 and C1 control characters and DEL, and surrogate code points: a lone surrogate
# cannot be written as UTF-8, so no JSON body, URL or database column can carry it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, line feed and carriage return are text.
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A URL holds no whitespace at all (Unicode spaces included), nor control characters.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NO_CONTROL = "no control characters or lone surrogates"


def _refuse_control(field: str, value: str, pattern: re.Pattern[str], limit: str) -> None:
    found = pattern.search(value)
    if found is not None:
        msg = f"holds {found.group()!r} at offset {found.start()}"
        raise ValidationError(field, msg, limit=limit)


def _identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A non-empty id: no control character (a newline included), no lone surrogate."""
    _non_empty(instance, attribute, value)
    assert isinstance(value, str)  # noqa: S101 - _non_empty checked it
    _refuse_control(attribute.name, value, _CONTROL, _NO_CONTROL)


def _optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """``None``, or text without control characters or lone surrogates."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(attribute.name, "must be a string", limit="text")
    _refuse_control(attribute.name, value, _CONTROL, _NO_CONTROL)


def _free_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Optional text: tabs and line breaks allowed, other control characters not."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(attribute.name, "must be a string", limit="text")
    limit = "no control characters but tab and line breaks, no lone surrogates"
    _refuse_control(attribute.name, value, _CONTROL_BUT_LINES, limit)


_URL_LIMIT = "absolute http(s) URL with a host"


def _redirect_url(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An optional absolute ``http``/``https`` URL with a host: where a page sends a user."""
    if value is None:
        return
    name = attribute.name
    if not isinstance(value, str):
        raise ValidationError(name, "must be a URL string", limit=_URL_LIMIT)
    found = _NOT_IN_URL.search(value)
    if found is not None:
        where = f"{found.group()!r} at offset {found.start()}"
        msg = f"holds {where}: no whitespace or control characters"
        raise ValidationError(name, msg, limit=_URL_LIMIT)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError(name, f"{value!r:.200} is not a URL", limit=_URL_LIMIT) from None
    if parts.scheme.lower() not in {"http", "https"}:
        msg = f"{value!r:.200} is not an http(s) URL (scheme {parts.scheme!r})"
        raise ValidationError(name, msg, limit=_URL_LIMIT)
    if not host:
        raise ValidationError(name, f"{value!r:.200} has no host", limit=_URL_LIMIT)
    if parts.username is not None or parts.password is not None:
        msg = "must not hold user:password@ (a page could show another host to the user)"
        raise ValidationError(name, msg, limit=_URL_LIMIT)


def _text_map(value: Mapping[Any, Any] | None) -> Mapping[str, str]:
    """``extra`` of a deposit: text keys and values, for a URL or a body."""
    items: dict[Any, Any] = dict(value or {})
    for key, item in items.items():
        if not isinstance(key, str) or not isinstance(item, str):
            msg = f"{key!r:.60}: keys and values must be strings"
            raise ValidationError("extra", msg, limit="str to str")
        _refuse_control(f"extra[{key!r}]", key + item, _CONTROL, _NO_CONTROL)
    return MappingProxyType(items)


def _iso_currency(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    iso_currency(value, field=attribute.name)


def _positive_money(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        msg = "must be a Money"
        raise ValidationError(attribute.name, msg, limit="Money")
    iso_currency(value.currency, field=f"{attribute.name}.currency")
    if value.amount <= 0:
        raise ValidationError(attribute.name, f"{value} is not positive", limit="> 0")


def _optional_identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """``None``, or an identifier as :func:`_identifier` checks it."""
    if value is not None:
        _identifier(instance, attribute, value)


def _optional_money(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Money):
        msg = "must be a Money or None"
        raise ValidationError(attribute.name, msg, limit="Money")


def _aware(_instance: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        msg = "must be timezone-aware"
        raise ValidationError(attribute.name, msg, limit="aware datetime")


@attrs.frozen(kw_only=True)
class DepositRequest:
    """Start a deposit: get payment details to show the user, and/or a hosted page URL.

    Checked at construction (a :class:`~payplane.exceptions.ValidationError` names the
    field): ``customer_id`` is non-empty text, and it, ``reference`` and ``language``
    hold no control characters (a trailing newline included) or lone surrogates; the URLs
    are absolute ``http``/``https`` URLs with a host, without whitespace, control
    characters or ``user:password@`` (so ``"javascript:alert(1)"`` never reaches a hosted
    page); ``extra`` maps text to text, without control characters.

    Attributes:
        customer_id: The platform's stable id of the paying user.
        currency: ISO 4217 code of the deposit.
        amount: A fixed amount, or ``None`` to let the user choose.
        reference: The platform's id for this deposit, when it has one. Providers that
            create a page per deposit (Razorpay's Payment Links) send it as their own
            reference and may require it.
        language: Preferred language of a hosted page (provider-specific codes).
        payment_details: Whether to fetch the details to pay to.
        hosted_page: Whether to get a hosted payment page URL. Some providers build it
            locally (Paykassma), others create the page with an API call (Razorpay).
        success_url: Where the hosted page sends the user after paying (a provider with
            one return address, such as Razorpay's ``callback_url``, uses this one).
        fail_url: Where it sends the user after a failure.
        pending_url: Where it sends the user while the payment is pending.
        customer_email: The payer's email, where the provider needs or shows one.
        customer_phone: The payer's phone number (E.164, ``"+919000090000"``), likewise.
        customer_name: The payer's name, likewise.
        expires_at: When an unpaid hosted page should expire (timezone-aware), where the
            provider supports it; each provider documents its bounds.
        extra: Provider-specific options, documented on each provider's page.
    """

    customer_id: str = attrs.field(validator=_identifier)
    currency: str = attrs.field(validator=_iso_currency)
    amount: Money | None = None
    reference: str | None = attrs.field(default=None, validator=_optional_identifier)
    language: str | None = attrs.field(default=None, validator=_optional_text)
    payment_details: bool = True
    hosted_page: bool = True
    success_url: str | None = attrs.field(default=None, validator=_redirect_url)
    fail_url: str | None = attrs.field(default=None, validator=_redirect_url)
    pending_url: str | None = attrs.field(default=None, validator=_redirect_url)
    customer_email: str | None = attrs.field(default=None, validator=_optional_identifier)
    customer_phone: str | None = attrs.field(default=None, validator=_optional_identifier)
    customer_name: str | None = attrs.field(default=None, validator=_optional_identifier)
    expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    extra: Mapping[str, str] = attrs.field(factory=dict, converter=_text_map)

    def __attrs_post_init__(self) -> None:
        if self.amount is not None:
            _positive_money(self, attrs.fields(DepositRequest).amount, self.amount)
            if self.amount.currency != self.currency:
                msg = f"amount is in {self.amount.currency}, the deposit in {self.currency}"
                raise ValidationError("amount", msg, limit=f"currency {self.currency}")
        if not (self.payment_details or self.hosted_page):
            msg = "ask for payment details, a hosted page, or both"
            raise ValidationError("payment_details", msg, limit="at least one")


@attrs.frozen(kw_only=True)
class PaymentDetails:
    """Where the user sends the money (a wallet number, an account).

    Attributes:
        method: The payment method (``"wavepay"``).
        account: The identifier to pay to.
        currency: ISO 4217 code to pay in.
        raw: The provider's answer, parsed, for anything provider-specific.
    """

    method: str
    account: str
    currency: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


@attrs.frozen(kw_only=True)
class DepositStart:
    """What starting a deposit gave: payment details and/or a hosted page URL.

    Attributes:
        provider: Provider id.
        customer_id: As requested.
        currency: As requested.
        payment_details: Where to pay, when asked for and offered.
        hosted_page_url: The hosted payment page, when asked for and offered.
        reference: The platform's reference of the deposit (the request's), when it has one.
        provider_reference: The provider's id of what it created for this deposit (a
            payment link, a payment intent), when it created one: keep it to look the
            deposit up or refund it.
        expires_at: When the hosted page expires, when the provider says.
        raw: The provider's answer, parsed (empty when no exchange was needed).
    """

    provider: str
    customer_id: str
    currency: str
    payment_details: PaymentDetails | None = None
    hosted_page_url: str | None = None
    reference: str | None = None
    provider_reference: str | None = None
    expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


@attrs.frozen(kw_only=True)
class ActivationRequest:
    """Activate a deposit from the transaction id the user got from their wallet.

    Attributes:
        customer_id: The platform's stable id of the paying user.
        amount: The amount the user says they paid.
        transaction_id: The wallet's transaction id, as the user typed it.
        reference: The platform's unique id for this activation; generated when omitted.
            It is the reference an :class:`~payplane.exceptions.UnknownOutcomeError` carries.

    ``customer_id``, ``transaction_id`` and ``reference`` are non-empty text without
    control characters or lone surrogates, checked at construction.
    """

    customer_id: str = attrs.field(validator=_identifier)
    amount: Money = attrs.field(validator=_positive_money)
    transaction_id: str = attrs.field(validator=_identifier)
    reference: str = attrs.field(factory=new_reference, validator=_identifier)


@attrs.frozen(kw_only=True)
class ActivationResult:
    """The provider's answer to an activation.

    Attributes:
        provider: Provider id.
        reference: The request's reference.
        outcome: Neutral outcome, with the provider's raw status beside it.
        credited: Amount credited (``CREDITED``).
        accumulated: Sum accumulated so far for the user (``BELOW_MINIMUM``).
        transactions_sum: Sum of the transactions found (``BELOW_MINIMUM``).
        missing: What is missing to reach the minimum (``BELOW_MINIMUM``): show it to the user.
        minimum: The minimum deposit (``BELOW_MINIMUM``).
        message: The provider's message, when it sent one.
        raw: The provider's answer, parsed.
    """

    provider: str
    reference: str
    outcome: MappedStatus[ActivationOutcome]
    credited: Money | None = None
    accumulated: Money | None = None
    transactions_sum: Money | None = None
    missing: Money | None = None
    minimum: Money | None = None
    message: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


@attrs.frozen(kw_only=True)
class Beneficiary:
    """Who a payout goes to, described neutrally: a bank account or a UPI id.

    Providers that register the recipient before paying (RazorpayX's contact and fund
    account, Paystack's transfer recipient) build it from these fields; each provider's
    page says which it needs. At least ``account_number`` or ``vpa`` is given.

    Attributes:
        holder_name: The account holder's name, as the bank knows it.
        account_number: The bank account (or wallet) number.
        bank_code: The bank or branch code the rail routes by (an IFSC in India, a sort
            code, a routing number).
        vpa: A UPI virtual payment address (``"name@bank"``), the UPI id.
        email: The beneficiary's email.
        phone: The beneficiary's phone number (E.164, ``"+919000090000"``).
    """

    holder_name: str | None = attrs.field(default=None, validator=_optional_identifier)
    account_number: str | None = attrs.field(default=None, validator=_optional_identifier)
    bank_code: str | None = attrs.field(default=None, validator=_optional_identifier)
    vpa: str | None = attrs.field(default=None, validator=_optional_identifier)
    email: str | None = attrs.field(default=None, validator=_optional_identifier)
    phone: str | None = attrs.field(default=None, validator=_optional_identifier)

    def __attrs_post_init__(self) -> None:
        if self.account_number is None and self.vpa is None:
            msg = "give an account_number or a vpa"
            raise ValidationError("beneficiary", msg, limit="account_number or vpa")


@attrs.frozen(kw_only=True)
class WithdrawalRequest:
    """Pay money out to a user's account.

    Attributes:
        customer_id: The platform's stable id of the user paid.
        amount: The amount to pay out.
        account_number: The receiving account or wallet number, for providers that need
            nothing more (Paykassma's Wavepay wallet number). Give it or ``beneficiary``.
        account_email: The account holder's email, where the provider needs one.
        reference: The idempotency key of this payout; generated when omitted. Keep it:
            retrying with the same reference cannot pay twice.
        comment: A free-text note, where the provider takes one.
        test: Ask the provider to treat this as a test payout.
        beneficiary: The recipient in full (holder name, account and bank code, or UPI
            id), for providers that register recipients (RazorpayX).
        customer_email: The user's email, where the provider records one with the payout.
        customer_phone: The user's phone number (E.164), likewise.
        extra: Provider-specific fields, documented on each provider's page.

    Checked at construction: ``customer_id``, ``account_number`` and ``reference`` are
    non-empty text; they and ``account_email`` hold no control characters or lone
    surrogates; ``comment`` may hold tabs and line breaks but no other control character.
    """

    customer_id: str = attrs.field(validator=_identifier)
    amount: Money = attrs.field(validator=_positive_money)
    account_number: str | None = attrs.field(default=None, validator=_optional_identifier)
    account_email: str | None = attrs.field(default=None, validator=_optional_text)
    reference: str = attrs.field(factory=new_reference, validator=_identifier)
    comment: str | None = attrs.field(default=None, validator=_free_text)
    test: bool = False
    beneficiary: Beneficiary | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(Beneficiary)),
    )
    customer_email: str | None = attrs.field(default=None, validator=_optional_identifier)
    customer_phone: str | None = attrs.field(default=None, validator=_optional_identifier)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)

    def __attrs_post_init__(self) -> None:
        if self.account_number is None and self.beneficiary is None:
            msg = "give an account_number or a beneficiary"
            raise ValidationError("beneficiary", msg, limit="account_number or beneficiary")


@attrs.frozen(kw_only=True)
class WithdrawalResult:
    """The provider's answer to a new withdrawal: accepted, not yet paid.

    The final status arrives later by postback.

    Attributes:
        provider: Provider id.
        reference: The withdrawal's reference (idempotency key).
        status: Neutral status with the provider's raw value.
        amount: The amount the provider accepted.
        raw: The provider's answer, parsed.
    """

    provider: str
    reference: str
    status: MappedStatus[WithdrawalStatus]
    amount: Money
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)
    provider_reference: str | None = None
    fee: Money | None = attrs.field(default=None, validator=_optional_money)


class PaymentKind(enum.Enum):
    """Which kind of payment a lookup is about."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    REFUND = "refund"


@attrs.frozen(kw_only=True)
class LookupRequest:
    """Ask the provider where a deposit, withdrawal or refund stands now.

    It is the way to resolve an :class:`~payplane.exceptions.UnknownOutcomeError`: look
    the operation up by the error's ``reference`` before doing anything else. Give the
    platform's reference, the provider's id, or both; each provider documents which it
    can look up by.

    Attributes:
        kind: What is looked up.
        reference: The platform's reference (a withdrawal's idempotency key, a deposit's
            or a refund's reference).
        provider_reference: The provider's own id of it.
    """

    kind: PaymentKind = attrs.field(validator=attrs.validators.instance_of(PaymentKind))
    reference: str | None = attrs.field(default=None, validator=_optional_identifier)
    provider_reference: str | None = attrs.field(default=None, validator=_optional_identifier)

    def __attrs_post_init__(self) -> None:
        if self.reference is None and self.provider_reference is None:
            msg = "give the reference, the provider_reference, or both"
            raise ValidationError("reference", msg, limit="reference or provider_reference")


@attrs.frozen(kw_only=True)
class LookupResult:
    """Where a deposit, withdrawal or refund stands, as the provider reports it now.

    Attributes:
        provider: Provider id.
        kind: What was looked up.
        reference: The platform's reference, when the provider reports it.
        provider_reference: The provider's id.
        status: Neutral status (of ``kind``'s enum) with the provider's raw value.
        amount: The amount, when reported.
        fee: The provider's fee, when reported.
        occurred_at: When it was created or last changed (timezone-aware), when reported.
        raw: The provider's answer, parsed.
    """

    provider: str
    kind: PaymentKind
    reference: str | None
    provider_reference: str | None
    status: PaymentStatus
    amount: Money | None = None
    fee: Money | None = attrs.field(default=None, validator=_optional_money)
    occurred_at: datetime | None = attrs.field(default=None, validator=_aware)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


@attrs.frozen(kw_only=True)
class RefundRequest:
    """Return all or part of a deposit to the payer.

    Attributes:
        deposit_reference: The platform's reference of the deposit.
        deposit_provider_reference: The provider's id of the deposit's payment (what a
            postback's ``provider_reference`` or a lookup reported). Give this, the
            deposit's reference, or both; each provider documents which it needs.
        amount: How much to return; ``None`` returns the whole deposit.
        reference: The idempotency key of this refund; generated when omitted. Keep it:
            retrying with the same reference cannot refund twice (where the provider
            honours idempotency keys; its page says).
        reason: A free-text reason, where the provider records one.
        deposit_amount: The deposit's amount, when the platform knows it: then ``amount``
            must be in its currency and not above it, checked before anything is sent.
        extra: Provider-specific options, documented on each provider's page.
    """

    deposit_reference: str | None = attrs.field(default=None, validator=_optional_identifier)
    deposit_provider_reference: str | None = attrs.field(
        default=None, validator=_optional_identifier
    )
    amount: Money | None = None
    reference: str = attrs.field(factory=new_reference, validator=_identifier)
    reason: str | None = attrs.field(default=None, validator=_free_text)
    deposit_amount: Money | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)

    def __attrs_post_init__(self) -> None:
        if self.deposit_reference is None and self.deposit_provider_reference is None:
            msg = "give the deposit's reference, its provider reference, or both"
            raise ValidationError(
                "deposit_reference", msg, limit="deposit_reference or deposit_provider_reference"
            )
        fields = attrs.fields(RefundRequest)
        if self.amount is not None:
            _positive_money(self, fields.amount, self.amount)
        if self.deposit_amount is not None:
            _positive_money(self, fields.deposit_amount, self.deposit_amount)
            if self.amount is not None:
                if self.amount.currency != self.deposit_amount.currency:
                    msg = (
                        f"amount is in {self.amount.currency}, the deposit in "
                        f"{self.deposit_amount.currency}"
                    )
                    raise ValidationError(
                        "amount", msg, limit=f"currency {self.deposit_amount.currency}"
                    )
                if self.amount > self.deposit_amount:
                    msg = f"{self.amount} is more than the deposit's {self.deposit_amount}"
                    raise ValidationError("amount", msg, limit=f"<= {self.deposit_amount}")


@attrs.frozen(kw_only=True)
class RefundResult:
    """The provider's answer to a refund.

    Attributes:
        provider: Provider id.
        reference: The refund's reference (idempotency key).
        provider_reference: The provider's id of the refund.
        deposit_provider_reference: The provider's id of the refunded payment.
        status: Neutral status with the provider's raw value.
        amount: The amount being returned.
        fee: The provider's fee for the refund, when reported.
        raw: The provider's answer, parsed.
    """

    provider: str
    reference: str
    provider_reference: str | None
    deposit_provider_reference: str | None
    status: MappedStatus[RefundStatus]
    amount: Money
    fee: Money | None = attrs.field(default=None, validator=_optional_money)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


class PostbackKind(enum.Enum):
    """What a postback is about."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    REFUND = "refund"
    OTHER = "other"
    """A verified event that is not about a payment (a dispute, a subscription, a
    settlement report): an :class:`OtherEvent`, which the inbox records as ignored and
    acknowledges; no handler sees it."""


_PAYMENT_KINDS = frozenset({PostbackKind.DEPOSIT, PostbackKind.WITHDRAWAL, PostbackKind.REFUND})


def _payment_kind(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _PAYMENT_KINDS:
        msg = f"{value!r} is not a payment kind (an OtherEvent carries the rest)"
        raise ValidationError(attribute.name, msg, limit="DEPOSIT, WITHDRAWAL or REFUND")


@attrs.frozen(kw_only=True)
class PostbackTransaction:
    """One transaction listed in a postback.

    Attributes:
        transaction_id: The provider's or wallet's transaction id, when given.
        amount: Its amount.
        reference: The platform's reference (a withdrawal id), when given.
        status: Its status, for withdrawals.
        occurred_at: When it happened (timezone-aware), when given.
        raw: The transaction as sent, unknown fields included.
    """

    transaction_id: str | None
    amount: Money
    reference: str | None = None
    status: MappedStatus[WithdrawalStatus] | None = None
    occurred_at: datetime | None = attrs.field(default=None, validator=_aware)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)


def _field_names(value: Iterable[str] | object) -> frozenset[str]:
    """``PostbackEvent.unsigned``: a set of the event's field names."""
    if type(value) is frozenset and value <= _EVENT_FIELDS:
        return value  # what providers pass: a module constant, checked at once
    if isinstance(value, str) or not isinstance(value, Iterable):
        # frozenset("label") would be a set of letters.
        msg = "must be a collection of field names"
        raise ValidationError("unsigned", msg, limit="PostbackEvent field names")
    names = frozenset(value)
    if not names <= _EVENT_FIELDS:
        unknown = ", ".join(sorted(map(repr, names - _EVENT_FIELDS)))
        msg = f"{unknown:.200} not PostbackEvent fields"
        raise ValidationError("unsigned", msg, limit="PostbackEvent field names")
    return names


@attrs.frozen(kw_only=True)
class PostbackEvent:
    """A verified postback (webhook), parsed.

    Only a provider's verifier creates these, after the signature checked out.

    Attributes:
        provider: Provider id.
        kind: Deposit, withdrawal or refund (events of another kind are
            :class:`OtherEvent`).
        event_key: The key the inbox deduplicates on: equal for every re-delivery of the
            same event, different for different events. Each provider documents its key
            (taken from the body, or from a header such as an event id).
        status: Neutral status (of the kind's enum: :class:`~payplane.DepositStatus`,
            :class:`~payplane.WithdrawalStatus`, :class:`~payplane.RefundStatus`) with the
            provider's raw value; ``None`` only for ``OTHER`` events.
        amount: The event's amount; ``None`` only for ``OTHER`` events.
        customer_id: The platform's user id, when given.
        reference: The platform's reference (a withdrawal id, a deposit's reference),
            when given.
        occurred_at: When the provider created the event (timezone-aware), when given.
        transactions: The transactions the event covers.
        raw: The parsed body with unknown fields kept and secrets left out. It holds
            signed and unsigned members alike: each provider's page says which is which.
        unsigned: The names of this event's fields whose values no signature covers,
            e.g. ``frozenset({"customer_id", "occurred_at"})``: anyone who can replay a
            captured postback may have changed them. Cross-check them with your own
            records before acting on them (the provider's page says how). Empty when
            the signature covers everything. ``kind``, ``event_key``, ``status``,
            ``amount`` and ``transactions`` are never listed: a provider takes them from
            signed data and refuses a postback whose unsigned data contradicts it.
        provider_reference: The provider's id of the payment, payout or refund, when given.
        fee: The provider's fee, when it reports one.
        event_type: The provider's own name of the event (``"payment.captured"``), when
            it has one.
    """

    provider: str
    kind: PostbackKind = attrs.field(validator=_payment_kind)
    event_key: str = attrs.field(validator=_non_empty)
    status: PaymentStatus
    amount: Money
    customer_id: str | None = None
    reference: str | None = None
    occurred_at: datetime | None = attrs.field(default=None, validator=_aware)
    transactions: tuple[PostbackTransaction, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)
    unsigned: frozenset[str] = attrs.field(default=frozenset(), converter=_field_names)
    provider_reference: str | None = None
    fee: Money | None = attrs.field(default=None, validator=_optional_money)
    event_type: str | None = None


_EVENT_FIELDS = frozenset(attrs.fields_dict(PostbackEvent))


@attrs.frozen(kw_only=True)
class OtherEvent:
    """A verified postback that is not about a payment.

    A dispute, a subscription, a settlement report: anything a provider sends that
    payplane does not map onto a deposit, withdrawal or refund. Only a provider's
    verifier creates these, after the signature checked out. The inbox records them as
    *ignored* and acknowledges them (a provider re-sends refused deliveries for days);
    no handler sees them.

    Attributes:
        provider: Provider id.
        event_key: The key the inbox deduplicates on, as for :class:`PostbackEvent`.
        event_type: The provider's own name of the event (``"dispute.created"``).
        occurred_at: When the provider created the event (timezone-aware), when given.
        raw: The parsed body with unknown fields kept and secrets left out.
    """

    provider: str
    event_key: str = attrs.field(validator=_non_empty)
    event_type: str | None = None
    occurred_at: datetime | None = attrs.field(default=None, validator=_aware)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)

    @property
    def kind(self) -> PostbackKind:
        """Always :attr:`PostbackKind.OTHER`."""
        return PostbackKind.OTHER
