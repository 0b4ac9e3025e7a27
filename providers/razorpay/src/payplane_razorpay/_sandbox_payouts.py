"""The sandbox's RazorpayX side: contacts, fund accounts, payouts."""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

from payplane_razorpay._sandbox_core import (
    ACCOUNT_NUMBER,
    FEES,
    MAGIC_FAIL,
    MAGIC_SECOND,
    Answer,
    Refused,
    SandboxBase,
    check_unknown,
    error,
    int_field,
    new_id,
    notes_field,
    one_of,
    text_field,
)
from payplane_razorpay._settings import BANK_MODES, CONTACT_TYPES, PURPOSES

_NAME = re.compile(r"[A-Za-z0-9 \u2019\-_/().]{1,119}[A-Za-z0-9.]")
_CONTACT_FIELDS = frozenset({"name", "email", "contact", "type", "reference_id", "notes"})
_FUND_ACCOUNT_FIELDS = frozenset({"contact_id", "account_type", "bank_account", "vpa"})
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
_BANK_ACCOUNT = re.compile(r"[A-Za-z0-9]{5,35}")
_VPA = re.compile(r"[A-Za-z0-9.\-]{1,100}@[A-Za-z0-9.\-]{1,100}")
_PAYOUT_FIELDS = frozenset(
    {
        "account_number",
        "fund_account_id",
        "amount",
        "currency",
        "mode",
        "purpose",
        "queue_if_low_balance",
        "reference_id",
        "narration",
        "notes",
    }
)
_NARRATION = re.compile(r"[A-Za-z0-9 ]{1,30}")
_PAYOUT_KEY = re.compile(r"[A-Za-z0-9_\- ]{4,36}")
_TAX = 90

__all__ = [
    "PayoutsMixin",
    "status_details",
]


class PayoutsMixin(SandboxBase):
    """Contacts and fund accounts deduplicated by content, payouts with idempotency keys."""

    def get_payout(self, payout_id: str) -> Answer:
        """Answer ``GET /v1/payouts/{id}``."""
        return self._get(self.payouts, payout_id)

    def list_payouts(self, query: Mapping[str, str]) -> Answer:
        """Answer ``GET /v1/payouts`` (``account_number`` required; ``reference_id``...)."""
        if "account_number" not in query:
            return error("The account number field is required.", field="account_number")
        if query["account_number"] != ACCOUNT_NUMBER:
            return error("The account number is invalid.", field="account_number")
        filters = ("reference_id", "fund_account_id", "status", "mode")
        with self._lock:
            items = [
                copy.deepcopy(payout)
                for payout in self.payouts.values()
                if all(name not in query or payout.get(name) == query[name] for name in filters)
            ]
        return Answer(200, {"entity": "collection", "count": len(items), "items": items})

    # -- RazorpayX ---------------------------------------------------------------------

    @staticmethod
    def _check_name(value: object, field: str, high: int) -> str:
        if not isinstance(value, str) or not 3 <= len(value) <= high or not _NAME.fullmatch(value):  # noqa: PLR2004
            msg = f"The {field} field is invalid."
            raise Refused(msg, field=field)
        return value

    def _check_contact(self, data: Mapping[str, Any]) -> dict[str, Any]:
        check_unknown(data, _CONTACT_FIELDS)
        name = self._check_name(data.get("name"), "name", 50)
        kind = data.get("type")
        if kind is not None and not one_of(kind, CONTACT_TYPES):
            raise Refused("Invalid type: " + str(kind)[:40], field="type")
        return {
            "name": name,
            "email": text_field(data, "email", 254),
            "contact": text_field(data, "contact", 20),
            "type": kind,
            "reference_id": text_field(data, "reference_id", 40),
        }

    def create_contact(self, data: Mapping[str, Any]) -> Answer:
        """Answer ``POST /v1/contacts``; identical content returns the existing contact."""
        try:
            fields = self._check_contact(data)
            notes = notes_field(data)
        except Refused as refused:
            return refused.answer
        with self._lock:
            for contact in self.contacts.values():
                if all(contact[name] == value for name, value in fields.items()):
                    return Answer(200, copy.deepcopy(contact))
            contact = {
                "id": new_id("cont"),
                "entity": "contact",
                **fields,
                "batch_id": None,
                "active": True,
                "notes": notes,
                "created_at": self._now(),
            }
            self.contacts[contact["id"]] = contact
            return Answer(201, copy.deepcopy(contact))

    def _check_fund_account(self, data: Mapping[str, Any]) -> dict[str, Any]:
        check_unknown(data, _FUND_ACCOUNT_FIELDS)
        contact_id = data.get("contact_id")
        if not one_of(contact_id, self.contacts):
            raise Refused("The id provided does not exist", field="contact_id")
        kind = data.get("account_type")
        if kind == "bank_account":
            bank = data.get("bank_account")
            if not isinstance(bank, dict) or set(bank) != {"name", "ifsc", "account_number"}:
                raise Refused("The bank_account field is invalid.", field="bank_account")
            self._check_name(bank["name"], "bank_account.name", 120)
            if not isinstance(bank["ifsc"], str) or not _IFSC.fullmatch(bank["ifsc"]):
                raise Refused("The ifsc must be 11 characters.", field="bank_account.ifsc")
            number = bank["account_number"]
            if not isinstance(number, str) or not _BANK_ACCOUNT.fullmatch(number):
                msg = "The account number must be 5 to 35 characters."
                raise Refused(msg, field="bank_account.account_number")
            return {"contact_id": contact_id, "account_type": kind, "bank_account": dict(bank)}
        if kind == "vpa":
            vpa = data.get("vpa")
            address = vpa.get("address") if isinstance(vpa, dict) else None
            if not isinstance(address, str) or not _VPA.fullmatch(address) or len(address) > 100:  # noqa: PLR2004
                raise Refused(
                    "Invalid VPA. Please enter a valid Virtual Payment Address", field="vpa.address"
                )
            return {"contact_id": contact_id, "account_type": kind, "vpa": {"address": address}}
        raise Refused("The selected account type is invalid.", field="account_type")

    def create_fund_account(self, data: Mapping[str, Any]) -> Answer:
        """Answer ``POST /v1/fund_accounts``; identical content returns the existing one."""
        with self._lock:
            try:
                fields = self._check_fund_account(data)
            except Refused as refused:
                return refused.answer
            for account in self.fund_accounts.values():
                if account["_content"] == fields:
                    return Answer(200, _public(account))
            content = copy.deepcopy(fields)
            if "vpa" in fields:
                username, _, handle = fields["vpa"]["address"].partition("@")
                fields["vpa"].update(username=username, handle=handle)
            if "bank_account" in fields:
                fields["bank_account"]["bank_name"] = "Sandbox Bank"
            account = {
                "id": new_id("fa"),
                "entity": "fund_account",
                **fields,
                "active": True,
                "batch_id": None,
                "created_at": self._now(),
                "_content": content,  # what deduplication compares; never answered
            }
            self.fund_accounts[account["id"]] = account
            return Answer(201, _public(account))

    def _check_payout(self, data: Mapping[str, Any]) -> dict[str, Any]:
        check_unknown(data, _PAYOUT_FIELDS)
        if data.get("account_number") != ACCOUNT_NUMBER:
            raise Refused("The account number is invalid.", field="account_number")
        account = self.fund_accounts.get(str(data.get("fund_account_id")))
        if account is None:
            raise Refused("The id provided does not exist", field="fund_account_id")
        amount = int_field(data, "amount")
        assert amount is not None  # noqa: S101 - required
        if amount < 100:  # noqa: PLR2004
            raise Refused("The amount must be at least INR 1.00", field="amount")
        if data.get("currency") != "INR":
            raise Refused("The currency must be INR.", field="currency")
        mode = data.get("mode")
        modes = {"UPI"} if account["account_type"] == "vpa" else BANK_MODES
        if not one_of(mode, modes):
            raise Refused("The selected mode is invalid.", field="mode")
        if not one_of(data.get("purpose"), PURPOSES):
            raise Refused("The selected purpose is invalid.", field="purpose")
        narration = data.get("narration")
        if narration is not None and (
            not isinstance(narration, str) or not _NARRATION.fullmatch(narration)
        ):
            raise Refused("The narration is invalid.", field="narration")
        queue = data.get("queue_if_low_balance", False)
        if not isinstance(queue, bool):
            raise Refused(
                "The queue_if_low_balance field must be true or false.",
                field="queue_if_low_balance",
            )
        return {
            "fund_account_id": account["id"],
            "amount": amount,
            "currency": "INR",
            "notes": notes_field(data),
            "mode": mode,
            "purpose": data["purpose"],
            "reference_id": text_field(data, "reference_id", 40),
            "narration": narration or "Sandbox Payout",
            "queue": queue,
        }

    def create_payout(self, data: Mapping[str, Any], key: str | None) -> Answer:  # noqa: PLR0911 - one answer per rule
        """Answer ``POST /v1/payouts`` (``X-Payout-Idempotency`` mandatory).

        The same key and body return the payout in its current state; another body is
        refused. Over the balance: refused (option ``insufficient_funds="error"``),
        created ``failed``, or ``queued`` with ``queue_if_low_balance``. Otherwise the
        amount and fees are debited, the payout is ``processing``, and after the payout
        delay it is processed; minor units ending in 51 fail (money returned), in 52 are
        processed then reversed (money returned).
        """
        if key is None:
            return error(
                "Idempotency key is missing. Include idempotency header and key in the request.",
                field="X-Payout-Idempotency",
            )
        if _PAYOUT_KEY.fullmatch(key) is None:
            return error("The idempotency key is invalid.", field="X-Payout-Idempotency")
        with self._lock:
            known = self._payout_keys.get(key)
            if known is not None:
                known_data, payout_id = known
                if known_data != dict(data):
                    return error("Different request body sent for the same Idempotency Header.")
                return Answer(200, copy.deepcopy(self.payouts[payout_id]))
            try:
                fields = self._check_payout(data)
            except Refused as refused:
                return refused.answer
            queue = fields.pop("queue")
            short = fields["amount"] + FEES > self.balance
            if short and not queue and self.insufficient_funds == "error":
                return error(
                    "Your account does not have enough balance to carry out the payout operation.",
                    reason="insufficient_funds",
                )
            payout: dict[str, Any] = {
                "id": new_id("pout"),
                "entity": "payout",
                **fields,
                "fees": 0,
                "tax": 0,
                "status": "processing",
                "utr": None,
                "batch_id": None,
                "failure_reason": None,
                "status_details": None,
                "created_at": self._now(),
                "fee_type": "",
            }
            self.payouts[payout["id"]] = payout
            self._payout_keys[key] = (dict(data), payout["id"])
            if short and queue:
                payout.update(
                    status="queued", status_details=status_details("low_balance", "business")
                )
                self._emit("payout.queued", {"payout": payout})
            elif short:
                details = status_details("insufficient_funds", "business")
                payout.update(status="failed", status_details=details)
                self._emit("payout.failed", {"payout": payout})
            else:
                self.balance -= payout["amount"] + FEES
                payout.update(fees=FEES, tax=_TAX)
                self._emit("payout.initiated", {"payout": payout})
                payout_id = payout["id"]
                self.scheduler.call_later(self.payout_delay, lambda: self._settle_payout(payout_id))
            return Answer(200, copy.deepcopy(payout))

    def _settle_payout(self, payout_id: str) -> None:
        with self._lock:
            payout = self.payouts[payout_id]
            magic = payout["amount"] % 100
            if magic == MAGIC_FAIL:
                self.balance += payout["amount"] + FEES
                details = status_details("beneficiary_bank_rejected", "beneficiary_bank")
                payout.update(status="failed", status_details=details)
                self._emit("payout.failed", {"payout": payout})
                return
            utr = "".join(secrets.choice(string.digits) for _ in range(12))
            payout.update(
                status="processed",
                utr=utr,
                status_details=status_details("payout_processed", "beneficiary_bank"),
            )
            self._emit("payout.processed", {"payout": payout})
        if magic == MAGIC_SECOND:
            self.scheduler.call_later(self.payout_delay, lambda: self._reverse_payout(payout_id))

    def _reverse_payout(self, payout_id: str) -> None:
        with self._lock:
            payout = self.payouts[payout_id]
            self.balance += payout["amount"] + FEES
            payout.update(
                status="reversed",
                status_details=status_details("beneficiary_bank_offline", "beneficiary_bank"),
            )
            self._emit("payout.reversed", {"payout": payout})


def _public(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in entity.items() if not k.startswith("_")}


_DESCRIPTIONS = {
    "low_balance": "Payout is queued as there is insufficient balance in your business account",
    "insufficient_funds": "Your account does not have enough balance to process the payout",
    "beneficiary_bank_rejected": "Payout rejected by beneficiary bank.",
    "payout_processed": (
        "Payout is processed and the money has been credited into the beneficiary account."
    ),
    "beneficiary_bank_offline": "Beneficiary bank systems are offline.",
}


def status_details(reason: str, source: str) -> dict[str, str]:
    """A payout's ``status_details`` for *reason*, as RazorpayX words them."""
    return {"reason": reason, "description": _DESCRIPTIONS[reason], "source": source}
