"""The Razorpay sandbox's behaviour: Payment Links, payments, refunds, RazorpayX payouts.

Pure logic without HTTP (``_sandbox_app`` wires it to Starlette), so it is tested
directly. Outcomes are chosen by documented magic values: the last two digits of an
amount in minor units (see the constants and the provider page's sandbox section).
Every request is checked in full before anything changes: a refused request leaves the
state as it was. Webhooks are signed with the webhook secret as Razorpay signs them and
delivered through payplane's deliverer, with retries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from payplane_razorpay._sandbox_core import (
    ACCOUNT_NUMBER,
    DEFAULT_BALANCE,
    DEFAULT_DELAY,
    DEFAULT_WEBHOOK_COPIES,
    FEES,
    KEY_ID,
    MAGIC_FAIL,
    MAGIC_SECOND,
    Answer,
    SandboxKeys,
    Scheduler,
    error,
    sign_document,
)
from payplane_razorpay._sandbox_payments import PaymentsMixin
from payplane_razorpay._sandbox_payouts import PayoutsMixin

__all__ = [
    "ACCOUNT_NUMBER",
    "DEFAULT_BALANCE",
    "DEFAULT_DELAY",
    "DEFAULT_WEBHOOK_COPIES",
    "FEES",
    "KEY_ID",
    "MAGIC_FAIL",
    "MAGIC_SECOND",
    "Answer",
    "RazorpaySandbox",
    "SandboxKeys",
    "Scheduler",
    "error",
    "sign_document",
]


class RazorpaySandbox(PaymentsMixin, PayoutsMixin):
    """The emulated Razorpay account: links, payments, refunds, RazorpayX and webhooks.

    Thread-safe: requests and the deliverer's callbacks share one lock.

    Args:
        keys: The secrets to check and sign with.
        scheduler: Delivers webhooks and runs delayed work (payplane's deliverer).
        balance: Starting RazorpayX balance, paise.
        payment_delay: Seconds until a new link is paid (or fails, or expires).
        refund_delay: Seconds until a refund is processed (or fails).
        payout_delay: Seconds until a payout is processed (or fails, or is reversed).
        webhook_copies: How many times each webhook is delivered.
        insufficient_funds: How a payout over the balance is refused: ``"error"`` (an
            API error with reason ``insufficient_funds``) or ``"failed"`` (a payout
            created ``failed`` with that reason); both happen at RazorpayX.
        clock: The current unix time.
    """

    def __repr__(self) -> str:
        return f"<RazorpaySandbox balance={self.balance}>"

    # -- auth --------------------------------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        """Whether *header* is ``Basic base64(key_id:key_secret)``, the scheme word exact."""
        if header is None or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        key_id, _, secret = decoded.partition(":")
        expected = f"{KEY_ID}:{self.keys.key_secret}".encode()
        return hmac.compare_digest(f"{key_id}:{secret}".encode(), expected)

    # -- snapshots ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The account's state as JSON-safe data (no keys)."""
        with self._lock:
            return {
                "balance": self.balance,
                "account_number": ACCOUNT_NUMBER,
                "links": {i: e["status"] for i, e in self.links.items()},
                "payments": {i: e["status"] for i, e in self.payments.items()},
                "refunds": {i: e["status"] for i, e in self.refunds.items()},
                "contacts": len(self.contacts),
                "fund_accounts": len(self.fund_accounts),
                "payouts": {i: e["status"] for i, e in self.payouts.items()},
            }
