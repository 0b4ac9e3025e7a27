"""Razorpay's client figures for ``bench_client.py``: payplane against raw httpx.

Three calls, each made through payplane's clients and by hand with httpx over the same
``httpx.MockTransport`` (canned Razorpay answers per path):

* a deposit: ``POST /v1/payment_links``, the link's amount and currency checked;
* a payout: ``POST /v1/contacts``, ``POST /v1/fund_accounts`` (a bank account with its
  IFSC), ``POST /v1/payouts`` with ``X-Payout-Idempotency``; the payout's amount,
  currency and reference checked, its status mapped;
* a partial refund: ``GET /v1/payments/{id}`` (captured, in the currency, enough left),
  then ``POST /v1/payments/{id}/refund`` with ``X-Refund-Idempotency``, the refund's
  amount checked.

The hand-written side sends the same requests (HTTP Basic, the same JSON bodies, amounts
in paise), parses each answer with ``json.loads`` and returns a small result record:
what an integrator without payplane writes for the same result.
"""

# A helper module beside the scripts, imported by bench_client.py; its keys are made up.
# ruff: noqa: INP001, T201, S105

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from _harness import compare, compare_async, ratios_line

import payplane
from payplane import Beneficiary, DepositRequest, Money, RefundRequest, WithdrawalRequest

__all__ = ["run_razorpay_async", "run_razorpay_sync"]

API = "https://api.razorpay.com/v1"
KEY_ID = "rzp_test_Bench00000001"
KEY_SECRET = "bench-key-secret-1"
ACCOUNT = "7878780080316316"
SETTINGS = {
    "key_id": KEY_ID,
    "key_secret": KEY_SECRET,
    "webhook_secret": "bench-webhook-secret-1",
    "payout_account_number": ACCOUNT,
}
DEPOSIT = DepositRequest(
    customer_id="cust-55",
    currency="INR",
    amount=Money("500.00", "INR"),
    reference="dep-bench-0001",
    customer_email="user@example.com",
    success_url="https://shop.example.com/return",
)
PAYOUT = WithdrawalRequest(
    customer_id="cust-55",
    amount=Money("1000.00", "INR"),
    reference="wd-bench-0001",
    beneficiary=Beneficiary(
        holder_name="Gaurav Kumar", account_number="765432123456789", bank_code="HDFC0000053"
    ),
)
REFUND = RefundRequest(
    deposit_provider_reference="pay_Bench000000001",
    amount=Money("200.00", "INR"),
    reference="refund-bench-0001",
)
_NOTES = {"payplane_reference": "dep-bench-0001", "payplane_customer_id": "cust-55"}
LINK_ANSWER = json.dumps(
    {
        "id": "plink_Bench00000001",
        "amount": 50000,
        "amount_paid": 0,
        "currency": "INR",
        "status": "created",
        "reference_id": "dep-bench-0001",
        "short_url": "https://rzp.io/i/Bench01",
        "expire_by": 0,
        "created_at": 1735689000,
        "updated_at": 1735689000,
        "notes": _NOTES,
        "customer": {"email": "user@example.com"},
        "callback_url": "https://shop.example.com/return",
        "callback_method": "get",
        "notify": {"sms": False, "email": False},
    }
).encode()
CONTACT_ANSWER = json.dumps(
    {"id": "cont_Bench00000001", "entity": "contact", "name": "Gaurav Kumar"}
).encode()
FUND_ACCOUNT_ANSWER = json.dumps(
    {"id": "fa_Bench000000001", "entity": "fund_account", "contact_id": "cont_Bench00000001"}
).encode()
PAYOUT_ANSWER = json.dumps(
    {
        "id": "pout_Bench0000001",
        "entity": "payout",
        "fund_account_id": "fa_Bench000000001",
        "amount": 100000,
        "currency": "INR",
        "notes": {"payplane_reference": "wd-bench-0001", "payplane_customer_id": "cust-55"},
        "fees": 590,
        "tax": 90,
        "status": "processing",
        "utr": None,
        "mode": "IMPS",
        "purpose": "payout",
        "reference_id": "wd-bench-0001",
        "narration": None,
        "status_details": None,
        "created_at": 1735689700,
    }
).encode()
PAYMENT_ANSWER = json.dumps(
    {
        "id": "pay_Bench000000001",
        "entity": "payment",
        "amount": 50000,
        "currency": "INR",
        "status": "captured",
        "method": "upi",
        "amount_refunded": 0,
        "captured": True,
        "notes": _NOTES,
        "fee": 1180,
        "tax": 180,
        "created_at": 1735689600,
    }
).encode()
REFUND_ANSWER = json.dumps(
    {
        "id": "rfnd_Bench0000001",
        "entity": "refund",
        "amount": 20000,
        "currency": "INR",
        "payment_id": "pay_Bench000000001",
        "notes": {"payplane_reference": "refund-bench-0001"},
        "status": "processed",
        "speed_processed": "normal",
        "created_at": 1735776000,
    }
).encode()
_ANSWERS = {
    ("POST", "/v1/payment_links"): LINK_ANSWER,
    ("POST", "/v1/contacts"): CONTACT_ANSWER,
    ("POST", "/v1/fund_accounts"): FUND_ACCOUNT_ANSWER,
    ("POST", "/v1/payouts"): PAYOUT_ANSWER,
    ("GET", "/v1/payments/pay_Bench000000001"): PAYMENT_ANSWER,
    ("POST", "/v1/payments/pay_Bench000000001/refund"): REFUND_ANSWER,
}
_JSON = {"content-type": "application/json"}


def handler(request: httpx.Request) -> httpx.Response:
    """Razorpay: a canned answer per method and path (both sides pay for it alike)."""
    return httpx.Response(200, content=_ANSWERS[request.method, request.url.path], headers=_JSON)


# -- the same calls by hand ------------------------------------------------------------------

_TOKEN = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode("ascii")
_HEADERS = {
    "authorization": f"Basic {_TOKEN}",
    "accept": "application/json",
    "content-type": "application/json",
}


@dataclass(frozen=True)
class RawResult:
    """What the hand-written calls return: an id, a status, an exact amount, the answer."""

    id: str
    status: str
    amount: Decimal
    currency: str
    raw: dict[str, Any]


def _paise(money: Money) -> int:
    units = money.amount * 100
    if units != units.to_integral_value():
        msg = f"{money} is not a whole number of paise"
        raise ValueError(msg)
    return int(units)


def _body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _entity(content: bytes, status: int) -> dict[str, Any]:
    if not 200 <= status < 300:  # noqa: PLR2004
        msg = f"Razorpay refused: HTTP {status}"
        raise RuntimeError(msg)
    data: dict[str, Any] = json.loads(content)
    return data


def _result(data: dict[str, Any]) -> RawResult:
    amount = Decimal(data["amount"]).scaleb(-2)
    return RawResult(data["id"], data["status"], amount, data["currency"], data)


def _link_payload() -> dict[str, Any]:
    assert DEPOSIT.amount is not None  # noqa: S101 - the bench's deposit has one
    return {
        "amount": _paise(DEPOSIT.amount),
        "currency": "INR",
        "reference_id": DEPOSIT.reference,
        "notes": {"payplane_reference": DEPOSIT.reference, "payplane_customer_id": "cust-55"},
        "notify": {"sms": False, "email": False},
        "customer": {"email": DEPOSIT.customer_email},
        "callback_url": DEPOSIT.success_url,
        "callback_method": "get",
    }


def _link_result(data: dict[str, Any], amount: int) -> RawResult:
    if (data["amount"], data["currency"]) != (amount, "INR") or not data.get("short_url"):
        msg = f"unexpected payment link {data!r}"
        raise RuntimeError(msg)
    return _result(data)


def _payout_payloads() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    beneficiary = PAYOUT.beneficiary
    assert beneficiary is not None  # noqa: S101 - the bench's payout has one
    contact = {"name": beneficiary.holder_name, "type": "customer", "reference_id": "cust-55"}
    fund_account = {
        "account_type": "bank_account",
        "bank_account": {
            "name": beneficiary.holder_name,
            "ifsc": beneficiary.bank_code,
            "account_number": beneficiary.account_number,
        },
    }
    payout = {
        "account_number": ACCOUNT,
        "amount": _paise(PAYOUT.amount),
        "currency": "INR",
        "mode": "IMPS",
        "purpose": "payout",
        "queue_if_low_balance": False,
        "reference_id": PAYOUT.reference,
        "notes": {"payplane_reference": PAYOUT.reference, "payplane_customer_id": "cust-55"},
    }
    return contact, fund_account, payout


def _payout_result(data: dict[str, Any], amount: int) -> RawResult:
    echoed = (data["amount"], data["currency"], data.get("reference_id"))
    if echoed != (amount, "INR", PAYOUT.reference):
        msg = f"unexpected payout {data!r}"
        raise RuntimeError(msg)
    return _result(data)


def _refund_check(payment: dict[str, Any], amount: int) -> None:
    left = payment["amount"] - (payment.get("amount_refunded") or 0)
    if payment["status"] != "captured" or payment["currency"] != "INR" or amount > left:
        msg = f"cannot refund {amount} of {payment!r}"
        raise RuntimeError(msg)


def _refund_result(data: dict[str, Any], amount: int) -> RawResult:
    if (data["amount"], data["currency"]) != (amount, "INR"):
        msg = f"unexpected refund {data!r}"
        raise RuntimeError(msg)
    return _result(data)


_PAYMENT_URL = f"{API}/payments/pay_Bench000000001"


def raw_deposit(http: httpx.Client) -> RawResult:
    """A Payment Link by hand."""
    payload = _link_payload()
    answer = http.post(f"{API}/payment_links", content=_body(payload), headers=_HEADERS)
    return _link_result(_entity(answer.content, answer.status_code), payload["amount"])


def raw_payout(http: httpx.Client) -> RawResult:
    """A RazorpayX payout by hand: contact, fund account, payout."""
    contact, fund_account, payout = _payout_payloads()
    answer = http.post(f"{API}/contacts", content=_body(contact), headers=_HEADERS)
    contact_id = _entity(answer.content, answer.status_code)["id"]
    fund_account["contact_id"] = contact_id
    answer = http.post(f"{API}/fund_accounts", content=_body(fund_account), headers=_HEADERS)
    payout["fund_account_id"] = _entity(answer.content, answer.status_code)["id"]
    headers = {**_HEADERS, "x-payout-idempotency": PAYOUT.reference}
    answer = http.post(f"{API}/payouts", content=_body(payout), headers=headers)
    return _payout_result(_entity(answer.content, answer.status_code), payout["amount"])


def raw_refund(http: httpx.Client) -> RawResult:
    """A partial refund by hand: the payment read, then the refund."""
    assert REFUND.amount is not None  # noqa: S101 - a partial refund
    amount = _paise(REFUND.amount)
    answer = http.get(_PAYMENT_URL, headers=_HEADERS)
    _refund_check(_entity(answer.content, answer.status_code), amount)
    headers = {**_HEADERS, "x-refund-idempotency": REFUND.reference}
    payload = {"amount": amount, "notes": {"payplane_reference": REFUND.reference}}
    answer = http.post(f"{_PAYMENT_URL}/refund", content=_body(payload), headers=headers)
    return _refund_result(_entity(answer.content, answer.status_code), amount)


async def raw_deposit_async(http: httpx.AsyncClient) -> RawResult:
    """A Payment Link by hand, async."""
    payload = _link_payload()
    answer = await http.post(f"{API}/payment_links", content=_body(payload), headers=_HEADERS)
    return _link_result(_entity(answer.content, answer.status_code), payload["amount"])


async def raw_payout_async(http: httpx.AsyncClient) -> RawResult:
    """A RazorpayX payout by hand, async."""
    contact, fund_account, payout = _payout_payloads()
    answer = await http.post(f"{API}/contacts", content=_body(contact), headers=_HEADERS)
    fund_account["contact_id"] = _entity(answer.content, answer.status_code)["id"]
    answer = await http.post(f"{API}/fund_accounts", content=_body(fund_account), headers=_HEADERS)
    payout["fund_account_id"] = _entity(answer.content, answer.status_code)["id"]
    headers = {**_HEADERS, "x-payout-idempotency": PAYOUT.reference}
    answer = await http.post(f"{API}/payouts", content=_body(payout), headers=headers)
    return _payout_result(_entity(answer.content, answer.status_code), payout["amount"])


async def raw_refund_async(http: httpx.AsyncClient) -> RawResult:
    """A partial refund by hand, async."""
    assert REFUND.amount is not None  # noqa: S101 - a partial refund
    amount = _paise(REFUND.amount)
    answer = await http.get(_PAYMENT_URL, headers=_HEADERS)
    _refund_check(_entity(answer.content, answer.status_code), amount)
    headers = {**_HEADERS, "x-refund-idempotency": REFUND.reference}
    payload = {"amount": amount, "notes": {"payplane_reference": REFUND.reference}}
    answer = await http.post(f"{_PAYMENT_URL}/refund", content=_body(payload), headers=headers)
    return _refund_result(_entity(answer.content, answer.status_code), amount)


# -- measuring -------------------------------------------------------------------------------


def _check(result: Any, raw: RawResult) -> None:  # noqa: ANN401 - any payplane result
    ours = getattr(result, "provider_reference", None)
    amount = getattr(result, "amount", None)
    if ours != raw.id or (amount is not None and amount.amount != raw.amount):
        msg = f"the two sides disagree: {result!r} and {raw!r}"
        raise RuntimeError(msg)


def run_razorpay_sync(number: int, rounds: int) -> list[str]:
    """The sync Razorpay figures."""
    transport = httpx.MockTransport(handler)
    lines = []
    with (
        payplane.Registry().client("razorpay", SETTINGS, transport=transport) as api,
        httpx.Client(transport=transport) as http,
    ):
        calls: list[tuple[str, Callable[[], object], Callable[[], RawResult]]] = [
            ("deposit", lambda: api.start_deposit(DEPOSIT), lambda: raw_deposit(http)),
            ("payout", lambda: api.create_withdrawal(PAYOUT), lambda: raw_payout(http)),
            ("refund", lambda: api.create_refund(REFUND), lambda: raw_refund(http)),
        ]
        for what, candidate, baseline in calls:
            _check(candidate(), baseline())
            comparison = compare(candidate, baseline, number=number, rounds=rounds)
            name = f"client razorpay {what} sync vs raw httpx"
            lines.append(ratios_line(name, comparison, stat="min", target=1.10))
            print(lines[-1], flush=True)
    return lines


async def run_razorpay_async(number: int, rounds: int) -> list[str]:
    """The async Razorpay figures."""
    transport = httpx.MockTransport(handler)
    lines = []
    async with (
        payplane.Registry().async_client("razorpay", SETTINGS, transport=transport) as api,
        httpx.AsyncClient(transport=transport) as http,
    ):
        calls: list[
            tuple[str, Callable[[], Awaitable[object]], Callable[[], Awaitable[RawResult]]]
        ] = [
            ("deposit", lambda: api.start_deposit(DEPOSIT), lambda: raw_deposit_async(http)),
            ("payout", lambda: api.create_withdrawal(PAYOUT), lambda: raw_payout_async(http)),
            ("refund", lambda: api.create_refund(REFUND), lambda: raw_refund_async(http)),
        ]
        for what, candidate, baseline in calls:
            _check(await candidate(), await baseline())
            comparison = await compare_async(candidate, baseline, number=number, rounds=rounds)
            name = f"client razorpay {what} async vs raw httpx"
            lines.append(ratios_line(name, comparison, stat="min", target=1.10))
            print(lines[-1], flush=True)
    return lines
