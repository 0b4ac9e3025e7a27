"""Differential test against Razorpay's official Python SDK (``razorpay``, test-only).

On generated bodies, ids and secrets, payplane's verification accepts exactly what the
SDK's ``Utility.verify_webhook_signature`` / ``verify_payment_signature`` /
``verify_payment_link_signature`` accept, and payplane's signatures equal the digests
the SDK accepts. The SDK raises ``SignatureVerificationError`` on a mismatch (and
``TypeError`` for a signature with non-ASCII characters) and wants ``str`` bodies.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane.exceptions import SignatureError
from payplane_razorpay import (
    payment_link_signature,
    payment_signature,
    verify_payment_link_signature,
    verify_payment_signature,
    verify_webhook_signature,
    webhook_signature,
)

razorpay = pytest.importorskip("razorpay")

texts = st.text(max_size=200)
secrets = st.text(min_size=1, max_size=40)
ids = st.text(max_size=24)
# What a caller may hold as the signature: the right one, a near miss, or anything.
HEX = "0123456789abcdef"


def _sdk(key_secret: str = "sdk-key-secret-1") -> object:  # noqa: S107 - made up
    return razorpay.Client(auth=("rzp_test_Sdk000000000001", key_secret)).utility


def _sdk_accepts(check: object, *args: object) -> bool:
    try:
        result = check(*args)  # type: ignore[operator]
    except (razorpay.errors.SignatureVerificationError, TypeError):
        return False
    return bool(result)


def _payplane_accepts(check: object, *args: object, **kwargs: object) -> bool:
    try:
        check(*args, **kwargs)  # type: ignore[operator]
    except SignatureError:
        return False
    return True


def _candidates(right: str) -> st.SearchStrategy[str]:
    near = st.integers(0, 63).flatmap(
        lambda i: st.sampled_from(HEX + "ABCDEF").map(lambda c: right[:i] + c + right[i + 1 :])
    )
    return st.one_of(st.just(right), st.just(right.upper()), near, st.text(max_size=70))


@given(data=st.data(), body=texts, secret=secrets)
def test_webhook_signature_equals_sdk(data: st.DataObject, body: str, secret: str) -> None:
    """Verification agrees with the SDK on any signature; payplane's digest is the SDK's."""
    right = webhook_signature(body.encode(), secret)
    assert _sdk_accepts(_sdk().verify_webhook_signature, body, right, secret)  # type: ignore[attr-defined]
    signature = data.draw(_candidates(right))
    sdk = _sdk_accepts(_sdk().verify_webhook_signature, body, signature, secret)  # type: ignore[attr-defined]
    ours = _payplane_accepts(verify_webhook_signature, body.encode(), signature, secret)
    assert ours == sdk


@given(body=st.binary(max_size=200), secret=secrets)
def test_webhook_signature_of_any_bytes(body: bytes, secret: str) -> None:
    """Over bytes that are not UTF-8 (which the SDK cannot take), it is plain HMAC-SHA256."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert webhook_signature(body, secret) == expected
    verify_webhook_signature(body, expected, secret)


@given(data=st.data(), order_id=ids, payment_id=ids, key_secret=secrets)
def test_payment_signature_equals_sdk(
    data: st.DataObject, order_id: str, payment_id: str, key_secret: str
) -> None:
    """Checkout signatures: equal digests, equal verdicts."""
    right = payment_signature(order_id, payment_id, key_secret)
    signature = data.draw(_candidates(right))
    params = {
        "razorpay_order_id": order_id,
        "razorpay_payment_id": payment_id,
        "razorpay_signature": signature,
    }
    sdk = _sdk_accepts(_sdk(key_secret).verify_payment_signature, params)  # type: ignore[attr-defined]
    ours = _payplane_accepts(verify_payment_signature, order_id, payment_id, signature, key_secret)
    assert ours == sdk
    assert sdk == (signature == right)


@given(
    data=st.data(),
    link_id=ids,
    reference_id=ids,
    status=st.sampled_from(["paid", "partially_paid", "expired", ""]),
    payment_id=ids,
    key_secret=secrets,
)
def test_payment_link_signature_equals_sdk(  # noqa: PLR0917 - the generated inputs
    data: st.DataObject,
    link_id: str,
    reference_id: str,
    status: str,
    payment_id: str,
    key_secret: str,
) -> None:
    """Payment Link callback signatures: equal digests, equal verdicts (empty ref too)."""
    right = payment_link_signature(link_id, reference_id, status, payment_id, key_secret)
    signature = data.draw(_candidates(right))
    params = {
        "payment_link_id": link_id,
        "payment_link_reference_id": reference_id,
        "payment_link_status": status,
        "razorpay_payment_id": payment_id,
        "razorpay_signature": signature,
    }
    sdk = _sdk_accepts(_sdk(key_secret).verify_payment_link_signature, params)  # type: ignore[attr-defined]
    ours = _payplane_accepts(
        verify_payment_link_signature,
        link_id,
        reference_id,
        status,
        payment_id,
        signature=signature,
        key_secret=key_secret,
    )
    assert ours == sdk
    assert sdk == (signature == right)


def test_sdk_vectors_agree(vectors: dict[str, list[dict[str, str]]]) -> None:
    """The shared vectors pass the SDK as they pass payplane (the fixtures are sound)."""
    for vector in vectors["webhook"]:
        assert _sdk_accepts(
            _sdk().verify_webhook_signature,  # type: ignore[attr-defined]
            vector["body"],
            vector["signature"],
            vector["secret"],
        )
