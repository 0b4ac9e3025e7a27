"""Every shared signature vector passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from payplane_paykassma_wavepay import (
    postback_signature,
    verify_postback_body,
    withdrawal_signature,
)
from payplane_paykassma_wavepay._signing import withdrawal_signing_text

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "vectors" / "paykassma.json"


def test_copy_matches_shared_vectors(kit: Any) -> None:
    """The repository's copy is the shared file, byte for byte, when the latter exists."""
    if not SHARED.exists():
        pytest.skip("../shared/vectors/paykassma.json is not beside the repository")
    assert SHARED.read_bytes() == (kit.data / "paykassma_vectors.json").read_bytes()


def test_vector_counts(vectors: dict[str, Any]) -> None:
    """The file holds the withdrawal and postback vectors the tests expect."""
    assert len(vectors["withdrawal_request"]) == 4
    assert len(vectors["postback"]) == 5


def test_withdrawal_joined(vectors: dict[str, Any]) -> None:
    """The signing text of every withdrawal vector is its `joined`."""
    for vector in vectors["withdrawal_request"]:
        assert vector["joined"] == withdrawal_signing_text(vector["fields"]), vector["note"]


def test_withdrawal_signature(vectors: dict[str, Any]) -> None:
    """Every withdrawal vector's signature is reproduced."""
    for vector in vectors["withdrawal_request"]:
        actual = withdrawal_signature(vector["fields"], vector["private_key"])
        assert vector["signature"] == actual, vector["note"]


def test_withdrawal_signature_ignores_signature_field(vectors: dict[str, Any]) -> None:
    """A `signature` member in the fields takes no part."""
    vector = vectors["withdrawal_request"][0]
    fields = {**vector["fields"], "signature": "anything"}
    assert vector["signature"] == withdrawal_signature(fields, vector["private_key"])


def test_postback_signature_of_signed_text(vectors: dict[str, Any]) -> None:
    """Every postback vector's signature is reproduced from its signed text."""
    for vector in vectors["postback"]:
        for signed in (vector["signed_text"], vector["signed_text"].encode()):
            actual = postback_signature(vector["access_key"], vector["private_key"], signed)
            assert vector["signature"] == actual, vector["note"]


def test_signed_text_is_in_body(vectors: dict[str, Any]) -> None:
    """Each vector's signed text is the raw text of its signed member inside the body."""
    for vector in vectors["postback"]:
        assert f'"{vector["signed_member"]}"' in vector["body"]
        assert vector["signed_text"] in vector["body"], vector["note"]


def test_postback_bodies_verify(vectors: dict[str, Any]) -> None:
    """Every vector body verifies end to end with its keys."""
    for vector in vectors["postback"]:
        body = vector["body"].encode()
        verify_postback_body(body, vector["access_key"], vector["private_key"])


def test_postback_bodies_verify_through_provider(kit: Any, vectors: dict[str, Any]) -> None:
    """Every vector body becomes an event through the provider with the vector's keys."""
    for vector in vectors["postback"]:
        provider = kit.provider(
            postback_access_key=vector["access_key"], postback_private_key=vector["private_key"]
        )
        event = provider.verify_postback(vector["body"].encode(), {})
        assert event.provider == "paykassma_wavepay", vector["note"]
