"""Client overhead: payplane's clients against the same calls written by hand with httpx.

Both sides run over the same ``httpx.MockTransport`` (a canned answer, no sockets), so
the figure is what payplane adds to an exchange: validation, the provider's request
description, retry context, observation hooks, redaction, mapping of the answer. The
hand-written calls do what an integrator without payplane must do for the same result:
build the same JSON body and URL, sign the withdrawal (Paykassma's MD5/SHA-1 scheme),
send, parse the answer with exact ``Decimal`` amounts, check its status and echo, and
return a small result record. Target: payplane at most 1.10x, sync and async.

Razorpay, in the same run and the same way: a deposit (one Payment Link), a payout (the
three RazorpayX requests: contact, fund account, payout with its idempotency header) and
a partial refund (the payment read, then the refund with its idempotency header). The
hand-written calls send the same requests (HTTP Basic, the same JSON bodies, amounts in
paise), parse each answer with ``json.loads``, check what payplane checks (the amounts,
currency and reference echoed; a captured payment with enough left to refund) and return
a small result record. Target: at most 1.10x, sync and async.

Run: ``uv run python bench/bench_client.py``.
"""

# A script: it prints its figures, and its keys are made up.
# ruff: noqa: INP001, T201, S105

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
from _harness import argument_parser, compare, compare_async, machine, main_guard, ratios_line
from _razorpay_calls import run_razorpay_async, run_razorpay_sync

import payplane
from payplane import ActivationRequest, Money, WithdrawalRequest

API_HOST = "https://api.example.com"
SECRET = "bench-plugin-secret"
WITHDRAWAL_KEY = "bench-withdrawal-key"
SETTINGS = {
    "api_host": API_HOST,
    "pluginapi_secret": SECRET,
    "withdrawal_private_key": WITHDRAWAL_KEY,
    "postback_access_key": "bench-access-key",
    "postback_private_key": "bench-private-key",
    "plugin_host": "https://plugin.example.com",
}
ACTIVATION = ActivationRequest(
    customer_id="55", amount=Money("6000", "MMK"), transaction_id="1394646476", reference="act-1"
)
WITHDRAWAL = WithdrawalRequest(
    customer_id="55",
    amount=Money("6000", "MMK"),
    account_number="01642234663",
    account_email="user@example.com",
    reference="af84c26f-931d-4c28-a30d-7b75e46b7685",
)
ACTIVATION_ANSWER = json.dumps(
    {"status": "ok", "deposit": True, "deposit_amount": 6000, "currency": {"code": "MMK"}}
).encode()
WITHDRAWAL_ANSWER = json.dumps(
    {
        "withdrawal_id": WITHDRAWAL.reference,
        "payment_system": "wavepay",
        "amount": 6000,
        "currency_code": "MMK",
        "is_test": False,
        "label": "55",
    }
).encode()
_JSON = {"content-type": "application/json"}


def handler(request: httpx.Request) -> httpx.Response:
    """The PSP: a canned answer per path (both sides pay for it alike)."""
    if request.url.path.endswith("/activate"):
        return httpx.Response(200, content=ACTIVATION_ANSWER, headers=_JSON)
    return httpx.Response(200, content=WITHDRAWAL_ANSWER, headers=_JSON)


# -- the same calls by hand ------------------------------------------------------------


@dataclass(frozen=True)
class RawResult:
    """What the hand-written calls return: an outcome, an exact amount, the answer."""

    outcome: str
    amount: Decimal
    currency: str
    raw: dict[str, Any]


_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _activation_request() -> tuple[str, bytes]:
    amount = ACTIVATION.amount
    payload = {
        "currency_code": amount.currency,
        "wallet_type": "wavepay",
        "label": ACTIVATION.customer_id,
        "key1": ACTIVATION.transaction_id,
        "amount": int(amount.amount),
        "custom_transaction_id": ACTIVATION.reference,
    }
    url = f"{API_HOST}/api/v1/transaction/activate?{urlencode({'secret': SECRET})}"
    return url, json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _activation_result(content: bytes) -> RawResult:
    data = json.loads(content, parse_float=Decimal)
    if data.get("status") != "ok" or data.get("deposit") is not True:
        msg = f"unexpected activation answer {data!r}"
        raise RuntimeError(msg)
    return RawResult("credited", Decimal(data["deposit_amount"]), "MMK", data)


def _withdrawal_request() -> tuple[str, bytes]:
    amount = WITHDRAWAL.amount
    fields: dict[str, Any] = {
        "withdrawal_id": WITHDRAWAL.reference,
        "payment_system": "wavepay",
        "amount": int(amount.amount),
        "currency_code": amount.currency,
        "is_test": WITHDRAWAL.test,
        "label": WITHDRAWAL.customer_id,
        "account_email": WITHDRAWAL.account_email,
        "account_number": WITHDRAWAL.account_number,
    }
    # Paykassma's scheme: values in key order, PHP's string forms, joined with ":".
    text = ":".join(
        ("1" if v is True else "" if v is False or v is None else str(v))
        for _, v in sorted(fields.items())
    )
    md5 = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    fields["signature"] = hashlib.sha1(
        (WITHDRAWAL_KEY + md5).encode(), usedforsecurity=False
    ).hexdigest()
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{API_HOST}/v2/withdrawal/create", body


def _withdrawal_result(content: bytes) -> RawResult:
    data = json.loads(content, parse_float=Decimal)
    if data.get("status") == "fail" or data.get("withdrawal_id") != WITHDRAWAL.reference:
        msg = f"unexpected withdrawal answer {data!r}"
        raise RuntimeError(msg)
    return RawResult("pending", WITHDRAWAL.amount.amount, "MMK", data)


def raw_activate(http: httpx.Client) -> RawResult:
    """Activation by hand."""
    url, body = _activation_request()
    return _activation_result(http.post(url, content=body, headers=_HEADERS).content)


def raw_withdraw(http: httpx.Client) -> RawResult:
    """Withdrawal by hand."""
    url, body = _withdrawal_request()
    return _withdrawal_result(http.post(url, content=body, headers=_HEADERS).content)


async def raw_activate_async(http: httpx.AsyncClient) -> RawResult:
    """Async activation by hand."""
    url, body = _activation_request()
    response = await http.post(url, content=body, headers=_HEADERS)
    return _activation_result(response.content)


async def raw_withdraw_async(http: httpx.AsyncClient) -> RawResult:
    """Async withdrawal by hand."""
    url, body = _withdrawal_request()
    response = await http.post(url, content=body, headers=_HEADERS)
    return _withdrawal_result(response.content)


# -- measuring -------------------------------------------------------------------------


def _check(result: Any, raw: RawResult) -> None:  # noqa: ANN401 - either result type
    amount = result.credited if hasattr(result, "credited") else result.amount
    if amount.amount != raw.amount:
        msg = f"the two sides disagree: {result!r} and {raw!r}"
        raise RuntimeError(msg)


def run_sync(number: int, rounds: int) -> list[str]:
    """The sync figures."""
    registry = payplane.Registry()
    transport = httpx.MockTransport(handler)
    lines = []
    with (
        registry.client("paykassma_wavepay", SETTINGS, transport=transport) as api,
        httpx.Client(transport=transport) as http,
    ):
        _check(api.activate_deposit(ACTIVATION), raw_activate(http))
        _check(api.create_withdrawal(WITHDRAWAL), raw_withdraw(http))
        for name, candidate, baseline in (
            (
                "client activation sync vs raw httpx",
                lambda: api.activate_deposit(ACTIVATION),
                lambda: raw_activate(http),
            ),
            (
                "client withdrawal sync vs raw httpx",
                lambda: api.create_withdrawal(WITHDRAWAL),
                lambda: raw_withdraw(http),
            ),
        ):
            comparison = compare(candidate, baseline, number=number, rounds=rounds)
            lines.append(ratios_line(name, comparison, stat="min", target=1.10))
            print(lines[-1], flush=True)
    return lines


async def run_async(number: int, rounds: int) -> list[str]:
    """The async figures."""
    registry = payplane.Registry()
    transport = httpx.MockTransport(handler)
    lines = []
    async with (
        registry.async_client("paykassma_wavepay", SETTINGS, transport=transport) as api,
        httpx.AsyncClient(transport=transport) as http,
    ):
        _check(await api.activate_deposit(ACTIVATION), await raw_activate_async(http))
        _check(await api.create_withdrawal(WITHDRAWAL), await raw_withdraw_async(http))
        for name, candidate, baseline in (
            (
                "client activation async vs raw httpx",
                lambda: api.activate_deposit(ACTIVATION),
                lambda: raw_activate_async(http),
            ),
            (
                "client withdrawal async vs raw httpx",
                lambda: api.create_withdrawal(WITHDRAWAL),
                lambda: raw_withdraw_async(http),
            ),
        ):
            comparison = await compare_async(candidate, baseline, number=number, rounds=rounds)
            lines.append(ratios_line(name, comparison, stat="min", target=1.10))
            print(lines[-1], flush=True)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per figure."""
    args = argument_parser(__doc__).parse_args(argv)
    number, rounds = (10, 3) if args.quick else (300, 15)
    print(machine())
    print(f"client: Paykassma Wavepay over httpx.MockTransport, {number} calls per batch")
    run_sync(number, rounds)
    asyncio.run(run_async(number, rounds))
    print(f"client: Razorpay over httpx.MockTransport, {number} calls per batch")
    run_razorpay_sync(number, rounds)
    asyncio.run(run_razorpay_async(number, rounds))
    return 0


if __name__ == "__main__":
    main_guard(main)
