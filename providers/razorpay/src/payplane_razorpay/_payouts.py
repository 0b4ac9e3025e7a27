"""Withdrawals: RazorpayX contact, then fund account, then payout, as one flow.

Sources: https://razorpay.com/docs/api/x/contacts/create/ (contact fields, deduplication),
https://razorpay.com/docs/api/x/fund-accounts/create/bank-account and
https://razorpay.com/docs/api/x/fund-accounts/create/vpa (fund accounts),
https://razorpay.com/docs/api/x/payouts/create/bank-account (payout fields),
https://razorpay.com/docs/api/x/payout-idempotency/ (``X-Payout-Idempotency``).
"""

from __future__ import annotations

import re
from typing import Any

from payplane import Beneficiary, Flow, WithdrawalRequest, WithdrawalResult
from payplane.exceptions import (
    ConfigurationError,
    InsufficientFundsError,
    IntegrityError,
    ValidationError,
)
from payplane_razorpay._amounts import from_minor_units, to_minor_units
from payplane_razorpay._api import PROVIDER_ID, Api
from payplane_razorpay._currencies import PAYOUT_CURRENCIES
from payplane_razorpay._entities import CUSTOMER_NOTE, REFERENCE_NOTE, payout_fee
from payplane_razorpay._settings import BANK_MODES, RazorpaySettings, check_narration
from payplane_razorpay._statuses import PAYOUT_STATUSES
from payplane_razorpay._wire import WireContact, WireFundAccount, WirePayout

__all__ = ["PAYOUT_EXTRA", "PayoutPlan", "create_withdrawal", "plan_payout"]

PAYOUT_EXTRA = frozenset({"mode", "purpose", "contact_type"})
"""The ``WithdrawalRequest.extra`` keys the provider takes."""

_OPERATION = "create_withdrawal"
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
_BANK_ACCOUNT = re.compile(r"[A-Za-z0-9]{5,35}")
_VPA = re.compile(r"[A-Za-z0-9.\-]+@[A-Za-z0-9.\-]+")
# Contact and bank-account names: letters, digits, space and U+2019 - _ / ( ) . , not
# ending with one of the specials but "." (Razorpay's contact page).
_NAME = re.compile(r"[A-Za-z0-9 \u2019\-_/().]*[A-Za-z0-9.]")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\- ]{4,36}")
_MINIMUM = 100  # paise
_MAX_CONTACT_REFERENCE = 40
_MAX_NOTE = 255
_INSUFFICIENT = frozenset({"insufficient_funds", "insufficient_balance"})


def _name(field: str, value: str | None, high: int) -> str:
    if value is None:
        msg = "RazorpayX needs the beneficiary's name"
        raise ValidationError(field, msg, limit="required")
    if not 3 <= len(value) <= high or _NAME.fullmatch(value) is None:  # noqa: PLR2004
        msg = f"{value!r:.60} is not a name RazorpayX accepts"
        limit = f"3-{high} letters, digits, spaces or \u2019-_/(). not ending in a special but ."
        raise ValidationError(field, msg, limit=limit)
    return value


def _fund_account(beneficiary: Beneficiary, mode: str | None, name: str) -> dict[str, Any]:
    """Return the fund account part (``account_type`` and its object) for *beneficiary*."""
    bank = beneficiary.account_number is not None and mode != "UPI"
    if not bank:
        vpa = beneficiary.vpa
        if vpa is None:
            msg = "a UPI payout needs the beneficiary's vpa"
            raise ValidationError("beneficiary.vpa", msg, limit="required for UPI")
        if not 3 <= len(vpa) <= 100 or _VPA.fullmatch(vpa) is None:  # noqa: PLR2004
            msg = f"{vpa!r:.60} is not a UPI id"
            limit = "3-100 letters, digits, . or -, with exactly one @ inside"
            raise ValidationError("beneficiary.vpa", msg, limit=limit)
        return {"account_type": "vpa", "vpa": {"address": vpa}}
    account = beneficiary.account_number
    assert account is not None  # noqa: S101 - bank is True only with an account number
    if _BANK_ACCOUNT.fullmatch(account) is None:
        msg = "is not a bank account number RazorpayX accepts"
        raise ValidationError("beneficiary.account_number", msg, limit="5-35 letters or digits")
    ifsc = beneficiary.bank_code
    if ifsc is None or _IFSC.fullmatch(ifsc) is None:
        msg = f"{ifsc!r:.40} is not an IFSC"
        limit = "IFSC: 4 capital letters, 0, then 6 capital letters or digits"
        raise ValidationError("beneficiary.bank_code", msg, limit=limit)
    return {
        "account_type": "bank_account",
        "bank_account": {"name": name, "ifsc": ifsc, "account_number": account},
    }


class PayoutPlan:
    """The three request bodies of one payout, checked before anything is sent.

    Attributes:
        contact: ``POST /v1/contacts``.
        fund_account: ``POST /v1/fund_accounts`` without ``contact_id`` (added from the
            contact answer).
        payout: ``POST /v1/payouts`` without ``fund_account_id``.
        amount: The payout amount in paise.
    """

    __slots__ = ("amount", "contact", "fund_account", "payout")

    def __init__(
        self,
        contact: dict[str, Any],
        fund_account: dict[str, Any],
        payout: dict[str, Any],
        amount: int,
    ) -> None:
        self.contact = contact
        self.fund_account = fund_account
        self.payout = payout
        self.amount = amount


def _checked_amount(request: WithdrawalRequest, settings: RazorpaySettings) -> int:
    """Check what concerns the payout itself; return its amount in paise."""
    if settings.payout_account_number is None:
        msg = "payouts need the merchant's RazorpayX account number"
        raise ConfigurationError(msg, field="payout_account_number", provider=PROVIDER_ID)
    if request.amount.currency not in PAYOUT_CURRENCIES:
        msg = f"RazorpayX pays out in INR, not {request.amount.currency}"
        raise ValidationError("amount.currency", msg, limit="INR")
    amount = to_minor_units(request.amount, "amount", minimum=_MINIMUM)
    if _IDEMPOTENCY_KEY.fullmatch(request.reference) is None:
        msg = f"{request.reference!r:.60} cannot be RazorpayX's X-Payout-Idempotency key"
        limit = "4-36 letters, digits, hyphens, underscores or spaces"
        raise ValidationError("reference", msg, limit=limit)
    if len(request.customer_id) > _MAX_CONTACT_REFERENCE:
        msg = "is the contact's reference_id, at most 40 characters"
        raise ValidationError("customer_id", msg, limit="at most 40 characters")
    if request.test and settings.live:
        msg = "a live key (rzp_live_…) cannot make a test payout: use a test key"
        raise ValidationError("test", msg, limit="False with a live key")
    unknown = sorted(set(request.extra) - PAYOUT_EXTRA)
    if unknown:
        msg = f"unknown option(s) {', '.join(unknown)}"
        raise ValidationError("extra", msg, limit=", ".join(sorted(PAYOUT_EXTRA)))
    for field in ("purpose", "contact_type"):
        value = request.extra.get(field)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 40):  # noqa: PLR2004
            msg = f"{value!r:.40} is not 1-40 characters"
            name = f"extra.{field}"
            raise ValidationError(name, msg, limit="1-40 characters")
    return amount


def _destination(
    request: WithdrawalRequest, settings: RazorpaySettings
) -> tuple[Beneficiary, str, dict[str, Any]]:
    """Return the beneficiary, the payout mode and the fund account part."""
    beneficiary = request.beneficiary
    if beneficiary is None:
        msg = (
            "RazorpayX pays a beneficiary: holder_name with account_number and bank_code "
            "(IFSC), or a vpa"
        )
        raise ValidationError("beneficiary", msg, limit="a Beneficiary")
    mode = request.extra.get("mode")
    if mode is not None and mode not in {*BANK_MODES, "UPI"}:
        msg = f"{mode!r:.20} is not a RazorpayX payout mode"
        raise ValidationError("extra.mode", msg, limit="IMPS, NEFT, RTGS or UPI")
    name = _name("beneficiary.holder_name", beneficiary.holder_name, 50)
    fund_account = _fund_account(beneficiary, mode, name)
    to_vpa = fund_account["account_type"] == "vpa"
    if mode is None:
        mode = "UPI" if to_vpa else settings.payout_mode
    elif (mode == "UPI") != to_vpa:
        msg = f"{mode} does not pay to a {'UPI id' if to_vpa else 'bank account'}"
        raise ValidationError("extra.mode", msg, limit="UPI to a vpa; IMPS, NEFT, RTGS to a bank")
    return beneficiary, mode, fund_account


def plan_payout(request: WithdrawalRequest, api: Api) -> PayoutPlan:
    """Check *request* against RazorpayX's rules and return the three request bodies.

    Raises:
        ConfigurationError: ``payout_account_number`` is not set.
        ValidationError: see the provider page: currency, amount (>= INR 1.00, whole
            paise), ``reference`` (4-36 letters, digits, ``-``, ``_``, spaces),
            ``customer_id`` (at most 40), the beneficiary (name, IFSC, account number,
            UPI id), ``comment`` (the narration), ``extra`` (mode, purpose,
            contact_type), ``test`` with a live key.
    """
    settings = api.settings
    amount = _checked_amount(request, settings)
    beneficiary, mode, fund_account = _destination(request, settings)
    contact: dict[str, Any] = {
        "name": fund_account.get("bank_account", {}).get("name") or beneficiary.holder_name,
        "type": request.extra.get("contact_type", settings.contact_type),
        "reference_id": request.customer_id,
    }
    email = beneficiary.email or request.account_email or request.customer_email
    phone = beneficiary.phone or request.customer_phone
    if email:
        contact["email"] = email
    if phone:
        contact["contact"] = phone
    reference = request.reference
    payout: dict[str, Any] = {
        "account_number": settings.payout_account_number,
        "amount": amount,
        "currency": "INR",
        "mode": mode,
        "purpose": request.extra.get("purpose", settings.payout_purpose),
        "queue_if_low_balance": settings.queue_if_low_balance,
        "reference_id": reference,
        "notes": {REFERENCE_NOTE: reference, CUSTOMER_NOTE: request.customer_id},
    }
    narration = request.comment if request.comment is not None else settings.payout_narration
    if narration is not None:
        payout["narration"] = check_narration("comment", narration)
    return PayoutPlan(contact, fund_account, payout, amount)


def create_withdrawal(request: WithdrawalRequest, api: Api) -> Flow[WithdrawalResult]:
    """Register the beneficiary and pay them: contact, fund account, payout.

    The contact and the fund account move no money and RazorpayX returns the existing
    one for identical content, so both are replay-safe. The payout carries
    ``X-Payout-Idempotency: <reference>`` (RazorpayX returns the first payout for the
    same key and body, for 7 days), so it is replay-safe too, and it moves money.

    Raises (from the flow):
        ConfigurationError, ValidationError: see :func:`plan_payout` (nothing sent).
        InsufficientFundsError: the balance is too low (an API error with reason
            ``insufficient_funds``, or a payout created ``failed`` for that reason).
        ProviderDeclinedError: RazorpayX refused (the IP allowlist, a reused reference
            with another body, a bad field...).
        IntegrityError: the payout answer has another amount, currency or reference.
        MalformedPayloadError: an answer that is not the entity (an unknown outcome
            once the payout request was sent).
    """
    plan = plan_payout(request, api)
    reference = request.reference
    response = yield api.post(
        _OPERATION, api.url("contacts"), plan.contact, reference=reference, replay_safe=True
    )
    contact, _ = api.entity(response, WireContact, "the contact answer")
    response = yield api.post(
        _OPERATION,
        api.url("fund_accounts"),
        {"contact_id": contact.id, **plan.fund_account},
        reference=reference,
        replay_safe=True,
    )
    fund_account, _ = api.entity(response, WireFundAccount, "the fund account answer")
    response = yield api.post(
        _OPERATION,
        api.url("payouts"),
        {**plan.payout, "fund_account_id": fund_account.id},
        reference=reference,
        moves_money=True,
        replay_safe=True,
        headers={"x-payout-idempotency": reference},
    )
    what = "the payout answer"
    payout, raw = api.entity(response, WirePayout, what, moves_money=True, reference=reference)
    mismatches = [
        f"{name} {got!r} for {wanted!r}"
        for name, got, wanted in (
            ("amount", payout.amount, plan.amount),
            ("currency", payout.currency, "INR"),
            # An answer without reference_id says nothing against the request.
            ("reference_id", payout.reference_id or reference, reference),
        )
        if got != wanted
    ]
    if mismatches:
        msg = "the payout answer contradicts the request: " + ", ".join(mismatches)
        raise IntegrityError(msg)
    details = payout.status_details
    if payout.status == "failed" and details is not None and details.reason in _INSUFFICIENT:
        text = details.description or details.reason or "insufficient funds"
        msg = f"payout {payout.id} failed: {text}; use a new reference for the next attempt"
        raise InsufficientFundsError(msg)
    return WithdrawalResult(
        provider=PROVIDER_ID,
        reference=reference,
        status=PAYOUT_STATUSES.map(payout.status),
        amount=from_minor_units(payout.amount, payout.currency, what),
        raw=raw,
        provider_reference=payout.id,
        fee=payout_fee(payout, what),
    )
