"""The Razorpay sandbox's shared parts: answers, errors, ids, signing, the base state.

See :mod:`payplane_razorpay._sandbox_state` for the sandbox itself.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

import attrs

from payplane_razorpay._currencies import EXPONENTS
from payplane_razorpay._signing import webhook_signature

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
    "Refused",
    "SandboxBase",
    "SandboxKeys",
    "Scheduler",
    "check_unknown",
    "error",
    "int_field",
    "minimum_units",
    "money_text",
    "new_id",
    "notes_field",
    "one_of",
    "sign_document",
    "text_field",
]

KEY_ID = "rzp_test_Sandbox00000001"
"""The key id the sandbox accepts (with the ``key_secret`` it was started with)."""
ACCOUNT_NUMBER = "7878780080316316"
"""The sandbox merchant's RazorpayX account number (``payout_account_number``)."""
MAGIC_FAIL = 51
"""An amount whose minor units end in 51 fails: the link's payment fails (then the link
expires), the refund fails, the payout fails."""
MAGIC_SECOND = 52
"""An amount whose minor units end in 52 takes the second bad path: the link expires
unpaid; the payout is processed, then reversed."""
DEFAULT_BALANCE = 100_000_000
"""The RazorpayX balance the sandbox starts with, in paise (INR 10,00,000.00)."""
DEFAULT_DELAY = 0.2
"""Seconds until a link is paid, a refund processed, a payout completed."""
DEFAULT_WEBHOOK_COPIES = 2
"""How many times each webhook is delivered: Razorpay delivers at least once."""
FEES = 590
"""The sandbox's fee per payout in paise, GST included (500 + 18% = 590; ``tax`` 90)."""

_ACCOUNT_ID = "acc_Sandbox00000001"
_ID_CHARS = string.ascii_letters + string.digits


@attrs.frozen
class Answer:
    """An HTTP answer of the sandbox: a status code and a JSON body."""

    status: int
    body: dict[str, Any]


class Scheduler(Protocol):
    """What the state needs from payplane's postback deliverer."""

    def submit(
        self,
        body: bytes,
        *,
        label: str,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
        accepted: Callable[[int, bytes], bool] | None = None,
    ) -> int:
        """Queue a webhook for delivery."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run *callback* later, off the request."""
        ...


@attrs.frozen(kw_only=True)
class SandboxKeys:
    """The secrets the sandbox checks and signs with (never shown)."""

    key_secret: str = attrs.field(repr=False)
    webhook_secret: str = attrs.field(repr=False)


class Refused(Exception):  # noqa: N818 - a refusal, answered, not an error
    """A refused request: becomes Razorpay's error answer."""

    def __init__(
        self,
        description: str,
        *,
        field: str | None = None,
        reason: str = "input_validation_failed",
        status: int = 400,
    ) -> None:
        super().__init__(description)
        self.answer = error(description, field=field, reason=reason, status=status)


def error(
    description: str,
    *,
    field: str | None = None,
    reason: str = "input_validation_failed",
    status: int = 400,
) -> Answer:
    """Razorpay's error shape: ``{"error": {"code": "BAD_REQUEST_ERROR", ...}}``."""
    body: dict[str, Any] = {
        "code": "BAD_REQUEST_ERROR",
        "description": description,
        "source": "business",
        "step": "payment_initiation",
        "reason": reason,
        "metadata": {},
    }
    if field is not None:
        body["field"] = field
    return Answer(status, {"error": body})


def sign_document(document: Mapping[str, Any], webhook_secret: str) -> tuple[bytes, dict[str, str]]:
    """Return *document* as a webhook body (compact JSON) and its headers.

    The headers are ``x-razorpay-signature`` (HMAC-SHA256 of the body with
    *webhook_secret*, lower-case hex) and a fresh ``x-razorpay-event-id``.
    """
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "x-razorpay-signature": webhook_signature(body, webhook_secret),
        "x-razorpay-event-id": new_id("evt"),
    }
    return body, headers


def new_id(prefix: str) -> str:
    """A Razorpay-style id: the prefix, ``_``, 14 letters and digits."""
    return f"{prefix}_{''.join(secrets.choice(_ID_CHARS) for _ in range(14))}"


def int_field(data: Mapping[str, Any], field: str, *, required: bool = True) -> int | None:
    """Return the integer *field* of *data* (``None`` when optional and absent), or refuse."""
    value = data.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"The {field} must be an integer."
        raise Refused(msg, field=field)
    return value


def text_field(
    data: Mapping[str, Any], field: str, high: int, *, required: bool = False
) -> str | None:
    """Return the text *field* of *data*, 1 to *high* characters, or refuse."""
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= high:
        msg = f"The {field} must be a string of 1 to {high} characters."
        raise Refused(msg, field=field)
    return value


def check_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Refuse a field Razorpay does not take, as it does ("... should not be sent")."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        msg = f"{', '.join(unknown)} is/are not required and should not be sent"
        raise Refused(msg, field=unknown[0])


def notes_field(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``notes`` of *data*: at most 15 string values of at most 255 characters."""
    notes = data.get("notes", {})
    if notes == []:
        return {}
    if not isinstance(notes, dict) or len(notes) > 15:  # noqa: PLR2004
        msg = "The notes must be an object of at most 15 keys."
        raise Refused(msg, field="notes")
    for value in notes.values():
        if not isinstance(value, str) or len(value) > 255:  # noqa: PLR2004
            msg = "The notes values must be strings of at most 255 characters."
            raise Refused(msg, field="notes")
    return dict(notes)


def one_of(value: object, allowed: Collection[str]) -> bool:
    """Whether *value* is a string among *allowed* (unhashable JSON values are not)."""
    return isinstance(value, str) and value in allowed


def minimum_units(currency: str) -> int:
    """The sandbox's smallest amount of *currency*: one major unit, in minor units."""
    return int(10 ** EXPONENTS[currency])


def money_text(units: int, currency: str) -> str:
    """Write *units* minor units of *currency* as Razorpay's messages do (``INR 1.00``)."""
    exponent = EXPONENTS[currency]
    whole, fraction = divmod(units, 10**exponent)
    return f"{currency} {whole}" + (f".{fraction:0{exponent}d}" if exponent else "")


class SandboxBase:
    """The state every part of the sandbox shares: tables, lock, clock, webhooks.

    Args: see :class:`~payplane_razorpay._sandbox_state.RazorpaySandbox`.
    """

    def __init__(
        self,
        keys: SandboxKeys,
        scheduler: Scheduler,
        *,
        balance: int = DEFAULT_BALANCE,
        payment_delay: float = DEFAULT_DELAY,
        refund_delay: float = DEFAULT_DELAY,
        payout_delay: float = DEFAULT_DELAY,
        webhook_copies: int = DEFAULT_WEBHOOK_COPIES,
        insufficient_funds: str = "error",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.scheduler = scheduler
        self.balance = balance
        self.payment_delay = payment_delay
        self.refund_delay = refund_delay
        self.payout_delay = payout_delay
        self.webhook_copies = webhook_copies
        self.insufficient_funds = insufficient_funds
        self.clock = clock
        self._lock = threading.RLock()
        self.links: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.fund_accounts: dict[str, dict[str, Any]] = {}
        self.payouts: dict[str, dict[str, Any]] = {}
        self._link_references: set[str] = set()
        self._refund_keys: dict[str, tuple[str, dict[str, Any], str]] = {}
        self._payout_keys: dict[str, tuple[dict[str, Any], str]] = {}

    def _now(self) -> int:
        return int(self.clock())

    def _get(self, table: dict[str, dict[str, Any]], entity_id: str) -> Answer:
        with self._lock:
            entity = table.get(entity_id)
            if entity is None:
                return error("The id provided does not exist")
            return Answer(200, copy.deepcopy(entity))

    # -- webhooks ----------------------------------------------------------------------

    def _emit(self, event: str, entities: Mapping[str, Mapping[str, Any]]) -> None:
        document = {
            "entity": "event",
            "account_id": _ACCOUNT_ID,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": copy.deepcopy(e)} for name, e in entities.items()},
            "created_at": self._now(),
        }
        body, headers = sign_document(document, self.keys.webhook_secret)
        main = next(iter(entities.values()), {})
        label = f"{event} {main.get('id', '')}".strip()
        for number in range(1, self.webhook_copies + 1):
            self.scheduler.submit(
                body, label=f"{label} (copy {number}/{self.webhook_copies})", headers=headers
            )
