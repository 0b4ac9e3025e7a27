"""Every shared signature vector passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from payplane import PostbackEvent
from payplane.exceptions import SignatureError
from payplane_razorpay import (
    payment_link_signature,
    payment_signature,
    verify_payment_link_signature,
    verify_payment_signature,
    verify_webhook_signature,
    webhook_signature,
)

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "vectors" / "razorpay.json"


def test_copy_matches_shared_vectors(kit: Any) -> None:
    """The repository's copy is the shared file, byte for byte, when the latter exists."""
    if not SHARED.exists():
        pytest.skip("../shared/vectors/razorpay.json is not beside the repository")
    assert SHARED.read_bytes() == (kit.data / "razorpay_vectors.json").read_bytes()


def test_vector_counts(vectors: dict[str, Any]) -> None:
    """The file holds the webhook, checkout and payment-link vectors the tests expect."""
    assert [len(vectors[name]) for name in ("webhook", "checkout", "payment_link")] == [3, 3, 3]


def test_webhook_signatures(vectors: dict[str, Any]) -> None:
    """Every webhook vector's signature is reproduced from its body, as bytes or text."""
    for vector in vectors["webhook"]:
        for body in (vector["body"], vector["body"].encode()):
            assert vector["signature"] == webhook_signature(body, vector["secret"]), vector["name"]


def test_webhook_signatures_verify(vectors: dict[str, Any]) -> None:
    """Every webhook vector verifies, and fails with another secret."""
    for vector in vectors["webhook"]:
        body = vector["body"].encode()
        verify_webhook_signature(body, vector["signature"], vector["secret"])
        with pytest.raises(SignatureError):
            verify_webhook_signature(body, vector["signature"], vector["secret"] + "x")


def test_webhook_bodies_verify_through_provider(kit: Any, vectors: dict[str, Any]) -> None:
    """Every webhook vector becomes a payment event through the provider with its secret."""
    kinds = []
    for vector in vectors["webhook"]:
        provider = kit.provider(webhook_secret=vector["secret"])
        headers = {"x-razorpay-signature": vector["signature"]}
        event = provider.verify_postback(vector["body"].encode(), headers)
        assert isinstance(event, PostbackEvent), vector["name"]
        kinds.append(event.kind.value)
    assert kinds == ["deposit", "withdrawal", "refund"]


def test_checkout_signatures(vectors: dict[str, Any]) -> None:
    """Every checkout vector's signature is reproduced and verifies."""
    for vector in vectors["checkout"]:
        args = (vector["order_id"], vector["payment_id"])
        assert vector["signature"] == payment_signature(*args, vector["secret"])
        verify_payment_signature(*args, vector["signature"], vector["secret"])


def test_checkout_ids_swapped_fail(vectors: dict[str, Any]) -> None:
    """Swapping the order and payment ids breaks every checkout vector."""
    for vector in vectors["checkout"]:
        with pytest.raises(SignatureError):
            verify_payment_signature(
                vector["payment_id"], vector["order_id"], vector["signature"], vector["secret"]
            )


def test_payment_link_signatures(vectors: dict[str, Any]) -> None:
    """Every payment-link vector's signature is reproduced and verifies (empty ref too)."""
    for vector in vectors["payment_link"]:
        args = (
            vector["payment_link_id"],
            vector["payment_link_reference_id"],
            vector["payment_link_status"],
            vector["payment_id"],
        )
        assert "|".join(args) == vector["message"]
        assert vector["signature"] == payment_link_signature(*args, vector["secret"])
        verify_payment_link_signature(
            *args, signature=vector["signature"], key_secret=vector["secret"]
        )
