"""The Wavepay sandbox's behaviour: balances, activations, withdrawals, signed postbacks.

Pure logic without HTTP (``_sandbox_app`` wires it to Starlette), so it is tested
directly. Scenarios are chosen by documented magic values (see the constants and
``docs/howto/sandbox.md``).

Every request is checked in full before anything changes, and the state is changed last,
after everything that could fail (building and signing the postback, queueing it): a
refused request changes nothing, and no request a client can send makes a method raise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from payplane_paykassma_wavepay._settings import DEFAULT_POSTBACK_TIMEZONE
from payplane_paykassma_wavepay._signing import (
    CURRENT_SIGNED_MEMBER,
    LEGACY_SIGNED_MEMBER,
    postback_signature,
    withdrawal_signature,
)

__all__ = [
    "ACCOUNT_FAIL_SUFFIX",
    "DEFAULT_BALANCE",
    "DEFAULT_COMPLETION_DELAY",
    "DEFAULT_DEPOSIT_COPIES",
    "DEFAULT_MINIMUM_DEPOSIT",
    "DEFAULT_PENDING_DELAY",
    "KEY1_PENDING_PREFIX",
    "KEY1_REJECTED_PREFIX",
    "KEY1_REVIEW_PREFIX",
    "MAXIMUM_AMOUNT",
    "MAXIMUM_DEPTH",
    "MESSAGE_AMOUNT",
    "MESSAGE_BAD_SIGNATURE",
    "MESSAGE_INSUFFICIENT",
    "MESSAGE_NOT_JSON",
    "SandboxKeys",
    "Scheduler",
    "WavepaySandbox",
    "php_json",
    "postback_accepted",
    "sign_postback_document",
    "whole_amount",
]

KEY1_PENDING_PREFIX = "PEND"
"""An activation whose ``key1`` starts with this answers ``pending``; the transaction is
confirmed after the pending delay (and credited by postback once the minimum is met)."""
KEY1_REVIEW_PREFIX = "REVIEW"
"""An activation whose ``key1`` starts with this answers ``possible_transaction_created``."""
KEY1_REJECTED_PREFIX = "FAIL"
"""An activation whose ``key1`` starts with this answers ``fail`` (transaction not found)."""
ACCOUNT_FAIL_SUFFIX = "5555"
"""A withdrawal to an ``account_number`` ending in this fails by postback (status 5);
every other accepted withdrawal succeeds (status 1)."""

DEFAULT_BALANCE = 1_000_000
"""The merchant's starting balance, MMK (option ``balance``)."""
DEFAULT_MINIMUM_DEPOSIT = 6000
"""The minimum deposit, MMK (option ``minimum_deposit``)."""
DEFAULT_PENDING_DELAY = 0.5
"""Seconds until a pending activation is confirmed (option ``pending_delay``)."""
DEFAULT_COMPLETION_DELAY = 0.2
"""Seconds until an accepted withdrawal completes (option ``completion_delay``)."""
DEFAULT_DEPOSIT_COPIES = 2
"""How many times each deposit postback is delivered (option ``deposit_copies``), as
Paykassma may repeat a postback: the receiver must apply it once."""
MAXIMUM_AMOUNT = 10**12
"""The largest amount the sandbox takes in one request, MMK (a sandbox limit: Paykassma
documents none). Larger amounts are refused like any other invalid field."""
MAXIMUM_DEPTH = 16
"""How deeply a request body may nest arrays and objects (the API's requests are flat)."""

MESSAGE_BAD_SIGNATURE = "Withdrawal signature is invalid"
MESSAGE_INSUFFICIENT = "Insufficient balance"
MESSAGE_PENDING = (
    "The deposit status check has been started. The operation may take longer than "
    "expected. Upon completion of the verification, the funds will be credited to your account"
)
MESSAGE_REVIEW = "Transaction not found. Possible transaction created"
MESSAGE_NOT_FOUND = "Transaction not found"
MESSAGE_ALREADY_ACTIVATED = "The transaction has already been activated"
MESSAGE_NOT_JSON = "The request body must be a JSON object."
MESSAGE_AMOUNT = f"The amount must be a whole number from 1 to {MAXIMUM_AMOUNT}."

CURRENCY = "MMK"
WALLET_TYPE = "wavepay"
_ACCOUNT_DIGITS = range(10, 12)
_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_WITHDRAWAL_FIELDS = (
    "payment_system",
    "amount",
    "currency_code",
    "label",
    "account_email",
    "account_number",
)

Answer = dict[str, Any]


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
        """Queue a postback for delivery."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run *callback* later, off the request."""
        ...


@attrs.frozen(kw_only=True)
class SandboxKeys:
    """The four keys the sandbox checks and signs with (never shown)."""

    pluginapi_secret: str = attrs.field(repr=False)
    withdrawal_private_key: str = attrs.field(repr=False)
    postback_access_key: str = attrs.field(repr=False)
    postback_private_key: str = attrs.field(repr=False)


def php_json(value: object) -> str:
    """Serialise as PHP's ``json_encode(JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)``."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sign_postback_document(document: Mapping[str, Any], access_key: str, private_key: str) -> bytes:
    """Return *document* as a signed postback body, written as Paykassma writes it.

    ``access_key`` and ``signature`` are set (kept in place when present, else
    ``signature`` goes first and ``access_key`` last); the signature covers the compact
    JSON text of ``additional_data`` (or ``transactions``, legacy format), which is
    exactly its text inside the body.

    Raises:
        ValueError: *document* has neither ``additional_data`` nor ``transactions``.
    """
    if CURRENT_SIGNED_MEMBER in document:
        member = CURRENT_SIGNED_MEMBER
    elif LEGACY_SIGNED_MEMBER in document:
        member = LEGACY_SIGNED_MEMBER
    else:
        msg = f"a postback needs {CURRENT_SIGNED_MEMBER!r} or {LEGACY_SIGNED_MEMBER!r}"
        raise ValueError(msg)
    body: dict[str, Any] = {"signature": ""} if "signature" not in document else {}
    body.update(document)
    body["access_key"] = access_key
    body["signature"] = postback_signature(access_key, private_key, php_json(body[member]))
    return php_json(body).encode()


def postback_accepted(status: int, body: bytes) -> bool:
    """Paykassma's rule: a postback is delivered when answered 200 ``{"status":"ok"}``."""
    if status != 200:  # noqa: PLR2004
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("status") == "ok"


def _fail(message: str | Mapping[str, list[str]]) -> Answer:
    return {"status": "fail", "message": message}


def _field_fail(field: str, message: str) -> Answer:
    return _fail({field: [message]})


def _now_text() -> str:
    return datetime.now(DEFAULT_POSTBACK_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def whole_amount(value: object) -> int | None:
    """Return *value* as a whole amount from 1 to :data:`MAXIMUM_AMOUNT`, or ``None``.

    The activation's ``amount`` is a JSON number: an integer, a float without a fraction
    (``6000.0``), or decimal text of ASCII digits (``"6000"``, ``"6000.00"``). Signs,
    exponents, spaces, ``_`` and non-ASCII digits are refused.
    """
    number: int | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            number = int(value)
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        whole, _, fraction = value.partition(".")
        if not fraction.strip("0") and len(whole.lstrip("0")) <= len(str(MAXIMUM_AMOUNT)):
            number = int(whole)
    return number if number is not None and 1 <= number <= MAXIMUM_AMOUNT else None


def _converted(amount: int) -> dict[str, Any]:
    # Integer arithmetic: exact and free of the decimal context's precision limit.
    cents, rest = divmod(amount * 476, 10_000)  # 0.000476 USD per MMK, to the cent
    if rest > 5000 or (rest == 5000 and cents % 2):  # noqa: PLR2004 - half to even
        cents += 1
    return {"MMK": amount, "USD": cents / 100}


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return "The request body holds text that is not valid Unicode."
    elif not (value is None or isinstance(value, int | float)):
        return MESSAGE_NOT_JSON
    return None


def _request_problem(data: object) -> str | None:
    r"""Return why *data* is not a request body the API takes, or ``None``.

    A body is a JSON object nested at most :data:`MAXIMUM_DEPTH` deep, whose strings are
    valid Unicode (no lone surrogate: PHP's ``json_decode`` refuses ``"\ud800"``).
    Checked without recursion, before anything else; the fields' own checks follow.
    """
    if not isinstance(data, Mapping):
        return MESSAGE_NOT_JSON
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, Mapping | list):
            problem = _scalar_problem(value)
            if problem is not None:
                return problem
            continue
        if depth > MAXIMUM_DEPTH:
            return f"The request body nests deeper than {MAXIMUM_DEPTH} levels."
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            stack.extend(((key, depth), (item, depth + 1)))
    try:
        php_json(data).encode()
    except (TypeError, ValueError):  # an integer past the conversion limit, a strange key
        return MESSAGE_NOT_JSON
    return None


def _echo(fields: Mapping[str, Any]) -> Answer:
    """An accepted withdrawal's answer: ``status`` ``ok``, then the request echoed.

    A request member named ``status`` is not echoed: it would replace the answer's own.
    """
    return {"status": "ok", **{name: v for name, v in fields.items() if name != "status"}}


def _text(data: Mapping[str, Any], field: str, high: int, *, low: int = 1) -> str | None:
    value = data.get(field)
    if isinstance(value, str) and low <= len(value) <= high:
        return value
    return None


@attrs.define
class _Transaction:
    key1: str
    amount: int
    label: str
    custom_transaction_id: str
    activated: str = attrs.field(factory=_now_text)


@attrs.define
class _Withdrawal:
    fields: dict[str, Any]
    amount: int
    status: int | None = None


class WavepaySandbox:
    """The emulated merchant account: balance, stockpiles, withdrawals and postbacks.

    Thread-safe: requests and the deliverer's callbacks share one lock.

    Args:
        keys: The keys to check and sign with.
        scheduler: Delivers postbacks and runs delayed work (payplane's deliverer).
        balance: Starting merchant balance, MMK.
        minimum_deposit: The minimum deposit, MMK; smaller transactions accumulate per
            label until their sum reaches it.
        pending_delay: Seconds until a pending activation is confirmed.
        completion_delay: Seconds until an accepted withdrawal completes.
        deposit_copies: How many times each deposit postback is delivered.
    """

    def __init__(
        self,
        keys: SandboxKeys,
        scheduler: Scheduler,
        *,
        balance: int = DEFAULT_BALANCE,
        minimum_deposit: int = DEFAULT_MINIMUM_DEPOSIT,
        pending_delay: float = DEFAULT_PENDING_DELAY,
        completion_delay: float = DEFAULT_COMPLETION_DELAY,
        deposit_copies: int = DEFAULT_DEPOSIT_COPIES,
    ) -> None:
        self.keys = keys
        self.scheduler = scheduler
        self.balance = balance
        self.minimum_deposit = minimum_deposit
        self.pending_delay = pending_delay
        self.completion_delay = completion_delay
        self.deposit_copies = deposit_copies
        self._lock = threading.Lock()
        self._used_key1: set[str] = set()
        self._stockpiles: dict[str, list[_Transaction]] = {}
        self._stockpile_ids: dict[str, int] = {}
        self._next_stockpile = 1
        self._withdrawals: dict[str, _Withdrawal] = {}

    def __repr__(self) -> str:
        return f"<WavepaySandbox balance={self.balance}>"

    # -- queries -----------------------------------------------------------------------

    def secret_ok(self, secret: str | None) -> bool:
        """Whether *secret* is the ``pluginapi_secret`` (constant-time)."""
        expected = self.keys.pluginapi_secret.encode()
        return secret is not None and hmac.compare_digest(secret.encode(), expected)

    @property
    def reserved(self) -> int:
        """The sum of unfinished withdrawals, MMK."""
        return sum(w.amount for w in self._withdrawals.values() if w.status is None)

    def snapshot(self) -> dict[str, Any]:
        """Return the account's state as JSON-safe data (no keys)."""
        with self._lock:
            return {
                "currency": CURRENCY,
                "balance": self.balance,
                "reserved": self.reserved,
                "available": self.balance - self.reserved,
                "minimum_deposit": self.minimum_deposit,
                "stockpiles": {
                    label: sum(t.amount for t in txns) for label, txns in self._stockpiles.items()
                },
                "withdrawals": {
                    wid: {"amount": w.amount, "status": w.status}
                    for wid, w in self._withdrawals.items()
                },
            }

    @staticmethod
    def wallet_identifier(label: str) -> str:
        """The Wavepay number the sandbox shows to *label*: 11 digits, stable per label."""
        digest = int(hashlib.sha256(label.encode()).hexdigest(), 16)
        return f"09{digest % 10**9:09d}"

    # -- deposits ----------------------------------------------------------------------

    def wallet_details(self, data: Mapping[str, Any]) -> Answer:
        """Answer ``POST /api/v1/transaction/create/wavepay``."""
        problem = _request_problem(data)
        if problem is not None:
            return _fail(problem)
        if data.get("currency") != CURRENCY:
            return _field_fail("currency", "The selected currency is invalid.")
        label = _text(data, "label", 190)
        if label is None:
            return _field_fail("label", "The label must be 1 to 190 characters.")
        return {"status": "ok", "params": {"identifier": self.wallet_identifier(label)}}

    def _check_activation(  # noqa: PLR0911 - one refusal per rule
        self, data: Mapping[str, Any]
    ) -> Answer | _Transaction:
        problem = _request_problem(data)
        if problem is not None:
            return _fail(problem)
        if data.get("currency_code") != CURRENCY:
            return _field_fail("currency_code", "The selected currency code is invalid.")
        if data.get("wallet_type") != WALLET_TYPE:
            return _field_fail("wallet_type", "The selected wallet type is invalid.")
        label = _text(data, "label", 190)
        if label is None:
            return _field_fail("label", "The label must be 1 to 190 characters.")
        key1 = _text(data, "key1", 11)
        if key1 is None:
            return _field_fail("key1", "The key1 must be 1 to 11 characters.")
        amount = whole_amount(data.get("amount"))
        if amount is None:
            return _field_fail("amount", MESSAGE_AMOUNT)
        reference = _text(data, "custom_transaction_id", 190)
        if reference is None:
            return _field_fail(
                "custom_transaction_id", "The custom transaction id must be 1 to 190 characters."
            )
        return _Transaction(key1, amount, label, reference)

    def activate(self, data: Mapping[str, Any]) -> Answer:
        """Answer ``POST /api/v1/transaction/activate``: the outcome follows ``key1``.

        A refused activation (an invalid field, a ``key1`` already used, a ``key1``
        starting with :data:`KEY1_REJECTED_PREFIX`) changes nothing; an accepted one
        marks its ``key1`` used only once everything else is done.
        """
        checked = self._check_activation(data)
        if isinstance(checked, dict):
            return checked
        txn = checked
        key1 = txn.key1.upper()
        with self._lock:
            if txn.key1 in self._used_key1:
                return _fail(MESSAGE_ALREADY_ACTIVATED)
            if key1.startswith(KEY1_REJECTED_PREFIX):
                return _fail(MESSAGE_NOT_FOUND)
            if key1.startswith(KEY1_REVIEW_PREFIX):
                answer: Answer = {
                    "status": "possible_transaction_created",
                    "message": MESSAGE_REVIEW,
                }
            elif key1.startswith(KEY1_PENDING_PREFIX):
                self.scheduler.call_later(self.pending_delay, lambda: self._confirm(txn))
                answer = {"status": "pending", "message": MESSAGE_PENDING}
            else:
                answer = self._found(txn)
            self._used_key1.add(txn.key1)
            return answer

    def _confirm(self, txn: _Transaction) -> None:
        with self._lock:
            self._found(attrs.evolve(txn, activated=_now_text()))

    def _found(self, txn: _Transaction) -> Answer:
        """Stockpile *txn*; credit the label's stockpile once it reaches the minimum.

        Everything that can fail (the postback's document, its signature, queueing it)
        happens before the state changes.
        """
        stockpile = [*self._stockpiles.get(txn.label, []), txn]
        total = sum(t.amount for t in stockpile)
        stockpiling_id = self._stockpile_ids.get(txn.label, self._next_stockpile)
        currency = {"code": CURRENCY, "symbol": CURRENCY}
        if total < self.minimum_deposit:
            answer: Answer = {
                "status": "ok",
                "deposit": False,
                "transactions_sum": txn.amount,
                "stockpiling_sum": total,
                "lacks_sum": self.minimum_deposit - total,
                "minimum_deposit": self.minimum_deposit,
                "currency": currency,
            }
            self._stockpiles[txn.label] = stockpile
        else:
            self._send_deposit(txn.label, stockpile, total, stockpiling_id)
            answer = {
                "status": "ok",
                "deposit": True,
                "deposit_amount": total,
                "currency": currency,
            }
            self._stockpiles.pop(txn.label, None)
            self._stockpile_ids.pop(txn.label, None)
            self.balance += total
        if stockpiling_id == self._next_stockpile:
            if txn.label in self._stockpiles:
                self._stockpile_ids[txn.label] = stockpiling_id
            self._next_stockpile += 1
        return answer

    def _send_deposit(
        self, label: str, txns: list[_Transaction], total: int, stockpiling_id: int
    ) -> None:
        document = {
            "wallet_type": WALLET_TYPE,
            "amount": total,
            "currency_code": CURRENCY,
            "label": label,
            "converted_amount": _converted(total),
            "direction": "ingoing",
            "created_datetime": _now_text(),
            "additional_data": [
                {
                    "activated_datetime": t.activated,
                    "exchanger_identifier": None,
                    "comment": "",
                    "amount": str(t.amount),
                    "currency_code": CURRENCY,
                    "wallet_type": WALLET_TYPE,
                    "stockpiling_id": stockpiling_id,
                    "transaction_id": t.key1,
                    "transaction_type": 1,
                    "plugin_custom_order_id": t.custom_transaction_id,
                    "withdrawal_id": None,
                    "withdrawal_status": None,
                    "account_number": "",
                    "account_name": "",
                    "account_email": "",
                    "bank_details": {"bank_code": "", "branch_code": ""},
                }
                for t in txns
            ],
        }
        body = self.sign(document)
        ids = ",".join(sorted(t.key1 for t in txns))
        for copy in range(1, self.deposit_copies + 1):
            self.scheduler.submit(
                body,
                label=f"deposit ingoing:{ids} (copy {copy}/{self.deposit_copies})",
                accepted=postback_accepted,
            )

    # -- withdrawals -------------------------------------------------------------------

    def _check_withdrawal(  # noqa: PLR0911 - one refusal per rule
        self, data: Mapping[str, Any]
    ) -> Answer | None:
        missing = {
            name: [f"The {name.replace('_', ' ')} field is required."]
            for name in (*_WITHDRAWAL_FIELDS, "is_test")
            if name not in data
        }
        if missing:
            return _fail(missing)
        if data.get("payment_system") != WALLET_TYPE:
            return _field_fail("payment_system", "The selected payment system is invalid.")
        if data.get("currency_code") != CURRENCY:
            return _field_fail("currency_code", "The selected currency code is invalid.")
        amount = data.get("amount")
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int)
            or not 0 < amount <= MAXIMUM_AMOUNT
        ):
            return _field_fail(
                "amount", f"The amount must be an integer from 1 to {MAXIMUM_AMOUNT}."
            )
        account = data.get("account_number")
        if not (
            isinstance(account, str)
            and account.isascii()
            and account.isdigit()
            and len(account) in _ACCOUNT_DIGITS
        ):
            return _field_fail("account_number", "The account number must be 10 or 11 digits.")
        if _text(data, "label", 36) is None:
            return _field_fail("label", "The label must be 1 to 36 characters.")
        if "withdrawal_id" in data and _text(data, "withdrawal_id", 36) is None:
            return _field_fail("withdrawal_id", "The withdrawal id must be 1 to 36 characters.")
        return None

    def _refuse_withdrawal(self, data: Mapping[str, Any]) -> Answer | None:
        problem = _request_problem(data)
        if problem is not None:
            return _fail(problem)
        if not self._signature_ok(data):
            return _fail(MESSAGE_BAD_SIGNATURE)
        return self._check_withdrawal(data)

    def _signature_ok(self, data: Mapping[str, Any]) -> bool:
        given = data.get("signature")
        try:
            expected = withdrawal_signature(data, self.keys.withdrawal_private_key)
        except (TypeError, ValueError):  # a value PHP's rules do not cover
            return False
        return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())

    def create_withdrawal(self, data: Mapping[str, Any]) -> Answer:
        """Answer ``POST /v2/withdrawal/create``: signature, fields, balance, in that order.

        An accepted withdrawal reserves its amount and completes after the completion
        delay by postback: status 5 when ``account_number`` ends in
        :data:`ACCOUNT_FAIL_SUFFIX` (the reservation is released), else status 1 (the
        balance is debited). A repeated ``withdrawal_id`` with the same fields is answered
        as the first time without a second payout; with other fields it is refused. A
        refused withdrawal changes nothing.
        """
        refused = self._refuse_withdrawal(data)
        if refused is not None:
            return refused
        fields = dict(data)
        withdrawal_id = str(fields.setdefault("withdrawal_id", str(uuid.uuid4())))
        amount: int = fields["amount"]
        with self._lock:
            known = self._withdrawals.get(withdrawal_id)
            if known is not None:
                if known.fields == fields:
                    return _echo(fields)
                return _field_fail("withdrawal_id", "The withdrawal id has already been taken.")
            if amount + self.reserved > self.balance:
                return _fail({"withdrawals_sum_amount": [MESSAGE_INSUFFICIENT]})
            # Queued first: the job waits for the lock, so it sees the withdrawal.
            self.scheduler.call_later(self.completion_delay, lambda: self._complete(withdrawal_id))
            self._withdrawals[withdrawal_id] = _Withdrawal(fields, amount)
        return _echo(fields)

    def _complete(self, withdrawal_id: str) -> None:
        with self._lock:
            withdrawal = self._withdrawals[withdrawal_id]
            account = str(withdrawal.fields["account_number"])
            status = 5 if account.endswith(ACCOUNT_FAIL_SUFFIX) else 1
            body = self.sign(self._withdrawal_document(withdrawal_id, withdrawal, status))
            self.scheduler.submit(
                body,
                label=f"withdrawal outgoing:{withdrawal_id}:{status}",
                accepted=postback_accepted,
            )
            withdrawal.status = status
            if status == 1:
                self.balance -= withdrawal.amount

    @staticmethod
    def _withdrawal_document(
        withdrawal_id: str, withdrawal: _Withdrawal, status: int
    ) -> dict[str, Any]:
        fields = withdrawal.fields
        return {
            "wallet_type": WALLET_TYPE,
            "amount": withdrawal.amount,
            "currency_code": CURRENCY,
            "label": fields["label"],
            "converted_amount": _converted(withdrawal.amount),
            "direction": "outgoing",
            "created_datetime": _now_text(),
            "additional_data": [
                {
                    "activated_datetime": "",
                    "exchanger_identifier": "",
                    "comment": fields.get("comment") or "",
                    "amount": str(withdrawal.amount),
                    "currency_code": CURRENCY,
                    "wallet_type": WALLET_TYPE,
                    "stockpiling_id": None,
                    "transaction_id": "",
                    "transaction_type": None,
                    "plugin_custom_order_id": "",
                    "withdrawal_id": withdrawal_id,
                    "withdrawal_status": status,
                    "account_number": fields["account_number"],
                    "account_name": "",
                    "account_email": fields["account_email"],
                    "bank_details": {"bank_code": None, "branch_code": None},
                }
            ],
        }

    # -- signing -----------------------------------------------------------------------

    def sign(self, document: Mapping[str, Any]) -> bytes:
        """Return *document* as a postback body signed with the sandbox's postback keys."""
        return sign_postback_document(
            document, self.keys.postback_access_key, self.keys.postback_private_key
        )
