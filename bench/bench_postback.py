"""Postback verify + parse of Paykassma's published example deposit postback, against two baselines.

* **floor**: the least any verifier must do with the same body: ``json.loads`` it and run
  Paykassma's two hashes (MD5, then SHA-1 over the hex digest and keys) over the whole
  body. Target: payplane costs at most 1.2x the floor.
* **pydantic**: a pydantic v2 model of the same payload (exact ``Decimal`` amounts,
  converted amounts as a ``dict[str, Decimal]``, unknown members ignored) validated from
  the JSON bytes by pydantic-core, without any signature check. Target: payplane is
  faster (ratio below 1).

payplane's call is ``WavepayProvider.verify_postback(body, {})``: size limit, one parse,
access key and signature checked over the signed member's raw bytes, then the neutral
:class:`~payplane.PostbackEvent` built with exact :class:`~payplane.Money` amounts
(converted amounts stay lazy until read).

Razorpay, in the same run: ``RazorpayProvider.verify_postback(body, headers)`` of a
``payment.captured`` and a ``payout.processed`` webhook (the test vectors' bodies: the
signature header checked in constant time, the JSON parsed, the entity structured, the
neutral event built with exact amounts), against the **SDK floor**: Razorpay's official
Python SDK verifying the same signature (``razorpay.Utility().verify_webhook_signature``,
which takes the body as text, so the baseline decodes it) plus ``json.loads`` of the body.
Target: at most 1.1x. Run: ``uv run python bench/bench_postback.py``.
"""

# A script: it prints its figures, and its keys are made up.
# ruff: noqa: INP001, T201

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal

import razorpay  # type: ignore[import-untyped] # the SDK ships no type information
from _harness import ROOT, argument_parser, compare, machine, main_guard, ratios_line
from pydantic import BaseModel

from payplane import PostbackEvent, Secret
from payplane_paykassma_wavepay import WavepayProvider, WavepaySettings
from payplane_razorpay import RazorpayProvider, RazorpaySettings

VECTORS = ROOT / "providers" / "paykassma_wavepay" / "tests" / "data" / "paykassma_vectors.json"
RAZORPAY_VECTORS = ROOT / "providers" / "razorpay" / "tests" / "data" / "razorpay_vectors.json"


class PydanticBankDetails(BaseModel):
    """``bank_details`` of a transaction."""

    bank_code: str | None = None
    branch_code: str | None = None


class PydanticTransaction(BaseModel):
    """One ``additional_data`` entry."""

    amount: Decimal
    currency_code: str | None = None
    wallet_type: str | None = None
    transaction_id: str | int | None = None
    stockpiling_id: str | int | None = None
    withdrawal_id: str | int | None = None
    withdrawal_status: int | str | None = None
    plugin_custom_order_id: str | int | None = None
    activated_datetime: str | None = None
    exchanger_identifier: str | None = None
    comment: str | None = None
    transaction_type: int | None = None
    account_number: str | None = None
    account_name: str | None = None
    account_email: str | None = None
    bank_details: PydanticBankDetails | None = None


class PydanticPostback(BaseModel):
    """The deposit postback, every member Paykassma's published example shows."""

    signature: str
    access_key: str
    wallet_type: str | None = None
    amount: Decimal
    currency_code: str
    label: str | int | None = None
    converted_amount: dict[str, Decimal] | None = None
    direction: str
    created_datetime: str | None = None
    additional_data: list[PydanticTransaction]


def seed_postback() -> tuple[bytes, WavepayProvider]:
    """Return Paykassma's published example deposit postback (compact, signed) and a verifier."""
    vector = json.loads(VECTORS.read_text(encoding="utf-8"))["postback"][0]
    settings = WavepaySettings(
        api_host="https://api.example.com",
        pluginapi_secret=Secret("bench-plugin-secret"),
        withdrawal_private_key=Secret("bench-withdrawal-key"),
        postback_access_key=Secret(vector["access_key"]),
        postback_private_key=Secret(vector["private_key"]),
        plugin_host="https://plugin.example.com",
    )
    body: bytes = vector["body"].encode()
    return body, WavepayProvider(settings)


def razorpay_webhooks() -> list[tuple[str, bytes, dict[str, str], RazorpayProvider]]:
    """The vectors' compact webhooks: (event, body, headers, a provider that verifies it)."""
    found = []
    for vector in json.loads(RAZORPAY_VECTORS.read_text(encoding="utf-8"))["webhook"]:
        body: bytes = vector["body"].encode()
        if b"\n" in body:
            continue  # the pretty-printed vector: Razorpay sends compact JSON
        settings = RazorpaySettings(
            key_id="rzp_test_Bench00000001",
            key_secret=Secret("bench-key-secret-1"),
            webhook_secret=Secret(vector["secret"]),
        )
        headers = {
            "x-razorpay-signature": vector["signature"],
            "x-razorpay-event-id": "evt_Bench000000001",
        }
        found.append((json.loads(body)["event"], body, headers, RazorpayProvider(settings)))
    return found


def sdk_floor_call(utility: razorpay.Utility, body: bytes, signature: str, secret: str) -> None:
    """The SDK floor: Razorpay's own verification of the signature, then ``json.loads``."""
    utility.verify_webhook_signature(body.decode(), signature, secret)
    json.loads(body)


def floor_call(body: bytes, access_key: str, private_key: str) -> None:
    """The floor: parse the body and hash it as a postback signature is computed."""
    json.loads(body)
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
    hashlib.sha1((access_key + private_key + digest).encode(), usedforsecurity=False).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per figure."""
    args = argument_parser(__doc__).parse_args(argv)
    number, rounds = (20, 3) if args.quick else (1_000, 15)
    body, provider = seed_postback()
    access = provider.settings.postback_access_key.reveal()
    private = provider.settings.postback_private_key.reveal()
    event = provider.verify_postback(body, {})  # fails loudly if it does not verify
    model = PydanticPostback.model_validate_json(body)
    assert [t.amount for t in model.additional_data] == [  # noqa: S101 - the same payload
        t.amount.amount for t in event.transactions
    ]

    def payplane() -> None:
        provider.verify_postback(body, {})

    def floor() -> None:
        floor_call(body, access, private)

    def pydantic() -> None:
        PydanticPostback.model_validate_json(body)

    def payplane_converted() -> None:
        dict(provider.verify_postback(body, {}).raw["converted_amount"])

    def pydantic_hashed() -> None:
        PydanticPostback.model_validate_json(body)
        digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
        hashlib.sha1((access + private + digest).encode(), usedforsecurity=False).hexdigest()

    print(machine())
    print(
        f"postback: seed deposit, {len(body)} bytes, {len(event.raw['converted_amount'])}"
        f" converted amounts, {number} calls per batch"
    )
    figures = [
        ("postback verify+parse vs floor", payplane, floor, 1.2, False),
        ("postback verify+parse vs pydantic", payplane, pydantic, 1.0, True),
        ("postback verify+parse vs pydantic+hashes", payplane, pydantic_hashed, 1.0, True),
        (
            "postback verify+parse+all converted Money vs pydantic",
            payplane_converted,
            pydantic,
            None,
            False,
        ),
    ]
    for name, candidate, baseline, target, below in figures:
        comparison = compare(candidate, baseline, number=number, rounds=rounds)
        print(ratios_line(name, comparison, stat="min", target=target, below=below), flush=True)
    run_razorpay(number, rounds)
    return 0


def run_razorpay(number: int, rounds: int) -> None:
    """The Razorpay figures: each compact vector webhook against the SDK floor."""
    utility = razorpay.Utility()
    for event_name, body, headers, provider in razorpay_webhooks():
        signature = headers["x-razorpay-signature"]
        secret = provider.settings.webhook_secret.reveal()
        event = provider.verify_postback(body, headers)  # fails loudly if it does not verify
        assert isinstance(event, PostbackEvent)  # noqa: S101 - a payment event
        assert utility.verify_webhook_signature(body.decode(), signature, secret)  # noqa: S101

        def candidate(
            provider: RazorpayProvider = provider,
            body: bytes = body,
            headers: dict[str, str] = headers,
        ) -> None:
            provider.verify_postback(body, headers)

        def baseline(body: bytes = body, signature: str = signature, secret: str = secret) -> None:
            sdk_floor_call(utility, body, signature, secret)

        print(f"razorpay: {event_name} webhook, {len(body)} bytes, {number} calls per batch")
        comparison = compare(candidate, baseline, number=number, rounds=rounds)
        name = f"razorpay {event_name} webhook verify+parse vs SDK verify+json.loads"
        print(ratios_line(name, comparison, stat="min", target=1.1), flush=True)


if __name__ == "__main__":
    main_guard(main)
