"""The sandbox's payments side: Payment Links, payments, refunds."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from payplane_razorpay._currencies import EXPONENTS, THREE_DECIMAL
from payplane_razorpay._sandbox_core import (
    MAGIC_FAIL,
    MAGIC_SECOND,
    Answer,
    Refused,
    SandboxBase,
    check_unknown,
    error,
    int_field,
    minimum_units,
    money_text,
    new_id,
    notes_field,
    one_of,
    text_field,
)

_LINK_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "accept_partial",
        "description",
        "reference_id",
        "customer",
        "expire_by",
        "notify",
        "reminder_enable",
        "notes",
        "callback_url",
        "callback_method",
        "upi_link",
    }
)
_MIN_EXPIRY = 15 * 60
_MAX_EXPIRY = 183 * 24 * 3600  # six months
_REFUND_FIELDS = frozenset({"amount", "speed", "notes", "receipt"})
_REFUND_KEY = re.compile(r"[A-Za-z0-9_\-]{10,}")

__all__ = [
    "PaymentsMixin",
]


class PaymentsMixin(SandboxBase):
    """Payment Links that settle by magic value, their payments, and refunds."""

    def get_link(self, link_id: str) -> Answer:
        """Answer ``GET /v1/payment_links/{id}``."""
        return self._get(self.links, link_id)

    def get_payment(self, payment_id: str) -> Answer:
        """Answer ``GET /v1/payments/{id}``."""
        return self._get(self.payments, payment_id)

    def get_refund(self, refund_id: str) -> Answer:
        """Answer ``GET /v1/refunds/{id}``."""
        return self._get(self.refunds, refund_id)

    def list_links(self, query: Mapping[str, str]) -> Answer:
        """Answer ``GET /v1/payment_links`` (filters ``reference_id``, ``payment_id``)."""
        with self._lock:
            links = [
                copy.deepcopy(link)
                for link in self.links.values()
                if query.get("reference_id") in {None, link["reference_id"]}
                and (
                    "payment_id" not in query
                    or any(p["payment_id"] == query["payment_id"] for p in link["payments"] or [])
                )
            ]
        return Answer(200, {"payment_links": links})

    def list_refunds(self, payment_id: str) -> Answer:
        """Answer ``GET /v1/payments/{id}/refunds``."""
        with self._lock:
            if payment_id not in self.payments:
                return error("The id provided does not exist")
            items = [
                copy.deepcopy(r) for r in self.refunds.values() if r["payment_id"] == payment_id
            ]
        return Answer(200, {"entity": "collection", "count": len(items), "items": items})

    # -- payment links -----------------------------------------------------------------

    def _check_link(self, data: Mapping[str, Any]) -> tuple[int, str]:
        check_unknown(data, _LINK_FIELDS)
        currency = data.get("currency", "INR")
        if not isinstance(currency, str) or currency not in EXPONENTS:
            raise Refused("Currency is not supported", field="currency")
        amount = int_field(data, "amount")
        assert amount is not None  # noqa: S101 - required
        if amount < minimum_units(currency):
            msg = f"The amount must be at least {money_text(minimum_units(currency), currency)}"
            raise Refused(msg, field="amount")
        if currency in THREE_DECIMAL and amount % 10:
            msg = "The amount of a three decimal currency must end with 0"
            raise Refused(msg, field="amount")
        reference = text_field(data, "reference_id", 40)
        if reference is not None and reference in self._link_references:
            msg = "payment link creation with reference ID already attempted"
            raise Refused(msg, field="reference_id")
        expire_by = int_field(data, "expire_by", required=False)
        if expire_by is not None and not (
            self._now() + _MIN_EXPIRY <= expire_by <= self._now() + _MAX_EXPIRY
        ):
            msg = "close_by timestamp must be atleast 15 minutes in future and within 6 months"
            raise Refused(msg, field="expire_by")
        if "callback_url" in data and data.get("callback_method") != "get":
            msg = "callback_method must be get when callback_url is passed"
            raise Refused(msg, field="callback_method")
        if data.get("upi_link") is True:
            raise Refused("UPI Payment Links is not supported in Test Mode", field="upi_link")
        if data.get("accept_partial", False) is not False:
            msg = "Partial payments are not emulated by payplane's sandbox"
            raise Refused(msg, field="accept_partial")
        customer = data.get("customer", {})
        if not isinstance(customer, dict) or not all(isinstance(v, str) for v in customer.values()):
            raise Refused("The customer must be an object of strings", field="customer")
        notes_field(data)
        return amount, currency

    def create_link(self, data: Mapping[str, Any], page_base: str) -> Answer:
        """Answer ``POST /v1/payment_links``; the link settles after the payment delay.

        The minor units' last two digits decide: 51, the payment fails and the link
        expires; 52, the link expires unpaid; anything else, it is paid.
        """
        with self._lock:
            try:
                amount, currency = self._check_link(data)
            except Refused as refused:
                return refused.answer
            now = self._now()
            link_id = new_id("plink")
            link: dict[str, Any] = {
                "id": link_id,
                "accept_partial": False,
                "amount": amount,
                "amount_paid": 0,
                "callback_method": data.get("callback_method", ""),
                "callback_url": data.get("callback_url", ""),
                "cancelled_at": 0,
                "created_at": now,
                "currency": currency,
                "customer": dict(data.get("customer", {})),
                "description": data.get("description", ""),
                "expire_by": data.get("expire_by", 0),
                "expired_at": 0,
                "first_min_partial_amount": 0,
                "notes": notes_field(data),
                "notify": dict(data.get("notify", {"sms": False, "email": False})),
                "order_id": None,
                "payments": None,
                "reference_id": data.get("reference_id", ""),
                "reminder_enable": bool(data.get("reminder_enable", False)),
                "reminders": [],
                "short_url": f"{page_base}/i/{link_id}",
                "status": "created",
                "updated_at": now,
                "upi_link": False,
                "user_id": "",
            }
            self.links[link_id] = link
            if link["reference_id"]:
                self._link_references.add(link["reference_id"])
        self.scheduler.call_later(self.payment_delay, lambda: self._settle_link(link_id))
        return Answer(200, copy.deepcopy(link))

    def cancel_link(self, link_id: str) -> Answer:
        """Answer ``POST /v1/payment_links/{id}/cancel`` (only a ``created`` link)."""
        with self._lock:
            link = self.links.get(link_id)
            if link is None:
                return error("The id provided does not exist")
            if link["status"] != "created":
                return error(f"Payment Link cannot be cancelled in {link['status']} state")
            link.update(status="cancelled", cancelled_at=self._now(), updated_at=self._now())
            self._emit("payment_link.cancelled", {"payment_link": link})
            return Answer(200, copy.deepcopy(link))

    def _payment(self, link: dict[str, Any], status: str) -> dict[str, Any]:
        amount = link["amount"]
        fee_base = amount * 2 // 100
        payment = {
            "id": new_id("pay"),
            "entity": "payment",
            "amount": amount,
            "currency": link["currency"],
            "status": status,
            "order_id": link["order_id"],
            "invoice_id": None,
            "international": link["currency"] != "INR",
            "method": "upi",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": status == "captured",
            "description": f"#{link['id'].removeprefix('plink_')}",
            "vpa": "success@razorpay",
            "email": link["customer"].get("email", "void@razorpay.com"),
            "contact": link["customer"].get("contact", "+919000090000"),
            "notes": dict(link["notes"]),
            "fee": fee_base + fee_base * 18 // 100 if status == "captured" else None,
            "tax": fee_base * 18 // 100 if status == "captured" else None,
            "error_code": None if status != "failed" else "BAD_REQUEST_ERROR",
            "error_description": None if status != "failed" else "Payment failed",
            "created_at": self._now(),
        }
        self.payments[payment["id"]] = payment
        return payment

    def _settle_link(self, link_id: str) -> None:
        with self._lock:
            link = self.links[link_id]
            if link["status"] != "created":
                return
            magic = link["amount"] % 100
            now = self._now()
            if magic == MAGIC_FAIL:
                payment = self._payment(link, "failed")
                self._emit("payment.failed", {"payment": payment})
            if magic in {MAGIC_FAIL, MAGIC_SECOND}:
                link.update(status="expired", expired_at=now, updated_at=now)
                self._emit("payment_link.expired", {"payment_link": link})
                return
            order = {
                "id": new_id("order"),
                "entity": "order",
                "amount": link["amount"],
                "amount_paid": link["amount"],
                "amount_due": 0,
                "currency": link["currency"],
                "receipt": link["reference_id"],
                "status": "paid",
                "attempts": 1,
                "notes": dict(link["notes"]),
                "created_at": now,
            }
            link["order_id"] = order["id"]
            payment = self._payment(link, "authorized")
            self._emit("payment.authorized", {"payment": payment})
            payment.update(status="captured", captured=True)
            fee_base = payment["amount"] * 2 // 100
            payment.update(fee=fee_base + fee_base * 18 // 100, tax=fee_base * 18 // 100)
            self._emit("payment.captured", {"payment": payment})
            entry = {
                "amount": payment["amount"],
                "created_at": now,
                "method": "upi",
                "payment_id": payment["id"],
                "plink_id": link_id,
                "status": "captured",
                "updated_at": now,
            }
            link.update(status="paid", amount_paid=link["amount"], payments=[entry], updated_at=now)
            self._emit(
                "payment_link.paid", {"payment_link": link, "order": order, "payment": payment}
            )

    # -- refunds -----------------------------------------------------------------------

    def _check_refund(self, payment: Mapping[str, Any], data: Mapping[str, Any]) -> int:
        check_unknown(data, _REFUND_FIELDS)
        if payment["status"] == "refunded":
            raise Refused("The payment has been fully refunded already.")
        if payment["status"] != "captured":
            raise Refused("Only captured payments can be refunded.")
        left = payment["amount"] - payment["amount_refunded"]
        amount = int_field(data, "amount", required=False)
        amount = left if amount is None else amount
        currency = payment["currency"]
        if amount < minimum_units(currency):
            least = money_text(minimum_units(currency), currency)
            msg = f"The refund amount must be at least {least}"
            raise Refused(msg, field="amount")
        if amount > left:
            raise Refused(
                "The refund amount provided is greater than amount captured.", field="amount"
            )
        if not one_of(data.get("speed", "normal"), {"normal", "optimum"}):
            raise Refused("The selected speed is invalid.", field="speed")
        notes_field(data)
        return amount

    def create_refund(self, payment_id: str, data: Mapping[str, Any], key: str | None) -> Answer:
        """Answer ``POST /v1/payments/{id}/refund`` (``X-Refund-Idempotency`` honoured).

        The refund is ``pending``; after the refund delay it is ``processed``, or
        ``failed`` when its minor units end in 51 (the amount is returned to the payment).
        """
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                return error("The id provided does not exist")
            if key is not None:
                if _REFUND_KEY.fullmatch(key) is None:
                    return error("The idempotency key is invalid.", field="X-Refund-Idempotency")
                known = self._refund_keys.get(key)
                if known is not None:
                    known_payment, known_data, refund_id = known
                    if (known_payment, known_data) != (payment_id, dict(data)):
                        return error(
                            "Different request with the same idempotency key has already "
                            "been processed."
                        )
                    return Answer(200, copy.deepcopy(self.refunds[refund_id]))
            try:
                amount = self._check_refund(payment, data)
            except Refused as refused:
                return refused.answer
            refund: dict[str, Any] = {
                "id": new_id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": notes_field(data),
                "receipt": data.get("receipt"),
                "acquirer_data": {"arn": None},
                "created_at": self._now(),
                "batch_id": None,
                "status": "pending",
                "speed_processed": "normal",
                "speed_requested": data.get("speed", "normal"),
            }
            self.refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            self._refund_state(payment)
            if key is not None:
                self._refund_keys[key] = (payment_id, dict(data), refund["id"])
            self._emit("refund.created", {"refund": refund, "payment": payment})
        refund_id = refund["id"]
        self.scheduler.call_later(self.refund_delay, lambda: self._settle_refund(refund_id))
        return Answer(200, copy.deepcopy(refund))

    @staticmethod
    def _refund_state(payment: dict[str, Any]) -> None:
        refunded = payment["amount_refunded"]
        full = refunded == payment["amount"]
        payment["refund_status"] = None if not refunded else ("full" if full else "partial")
        payment["status"] = "refunded" if full else "captured"

    def _settle_refund(self, refund_id: str) -> None:
        with self._lock:
            refund = self.refunds[refund_id]
            payment = self.payments[refund["payment_id"]]
            if refund["amount"] % 100 == MAGIC_FAIL:
                refund["status"] = "failed"
                payment["amount_refunded"] -= refund["amount"]
                self._refund_state(payment)
                self._emit("refund.failed", {"refund": refund, "payment": payment})
            else:
                refund["status"] = "processed"
                self._emit("refund.processed", {"refund": refund, "payment": payment})
