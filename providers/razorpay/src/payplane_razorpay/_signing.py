"""Razorpay's signatures: webhooks, Checkout and Payment Link callbacks.

Every one is the lower-case hex HMAC-SHA256 of a UTF-8 message, keyed with a UTF-8
secret, as Razorpay's SDKs compute it (razorpay-python ``razorpay/utility/utility.py``,
https://github.com/razorpay/razorpay-python/blob/master/razorpay/utility/utility.py):

* a webhook: the raw request body, keyed with the **webhook secret** (set in the
  Dashboard), sent in the ``X-Razorpay-Signature`` header
  (https://razorpay.com/docs/webhooks/validate-test/);
* the Checkout callback: ``order_id + "|" + razorpay_payment_id``, keyed with the API
  **key secret** (https://razorpay.com/docs/payments/payment-gateway/web-integration/standard/integration-steps/);
* the Payment Link callback: ``payment_link_id|reference_id|status|payment_id``, keyed
  with the API key secret (https://razorpay.com/docs/payments/payment-links/apis/).

Each ``verify_*`` function compares in constant time (:func:`hmac.compare_digest`) and
accepts exactly what the official SDK accepts: the lower-case hex digest, nothing else
(an upper-case digest is refused, as by the SDK). It raises
:class:`~payplane.exceptions.SignatureError` instead of returning ``False``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from payplane.exceptions import SignatureError

__all__ = [
    "payment_link_signature",
    "payment_signature",
    "verify_payment_link_callback",
    "verify_payment_link_signature",
    "verify_payment_signature",
    "verify_webhook_signature",
    "webhook_signature",
]

_DIGEST_LENGTH = 64


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _hmac(message: bytes | str, secret: str) -> str:
    return hmac.new(_bytes(secret), _bytes(message), hashlib.sha256).hexdigest()


def _check(expected: str, given: object, what: str) -> None:
    """Compare *given* with *expected* in constant time; raise SignatureError unless equal."""
    if not isinstance(given, str) or not given:
        msg = f"{what}: no signature"
        raise SignatureError(msg)
    # hmac.compare_digest refuses str with non-ASCII characters; such a value cannot be
    # the digest anyway. Length is not secret: the digest is always 64 characters.
    if not given.isascii() or len(given) != _DIGEST_LENGTH:
        msg = f"{what}: the signature is not a 64-character hex digest"
        raise SignatureError(msg)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii")):
        msg = f"{what}: the signature does not match"
        raise SignatureError(msg)


def webhook_signature(body: bytes | str, secret: str) -> str:
    """Return the ``X-Razorpay-Signature`` of a webhook *body* signed with *secret*.

    Args:
        body: The raw request body, byte for byte (a ``str`` is taken as its UTF-8 bytes).
        secret: The webhook secret entered in Razorpay's Dashboard (not the API key secret).
    """
    return _hmac(body, secret)


def verify_webhook_signature(body: bytes | str, signature: str, secret: str) -> None:
    """Check *signature* (the ``X-Razorpay-Signature`` header) over the raw *body*.

    Raises:
        SignatureError: no signature, not a 64-character digest, or not the digest of
            *body* under *secret*.
    """
    _check(_hmac(body, secret), signature, "webhook")


def payment_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """Return the Checkout ``razorpay_signature`` of *payment_id* paid on *order_id*.

    Use the ``order_id`` your server created and stored, not the one sent back with the
    payment (Razorpay's advice).
    """
    return _hmac(f"{order_id}|{payment_id}", key_secret)


def verify_payment_signature(
    order_id: str, payment_id: str, signature: str, key_secret: str
) -> None:
    """Check Checkout's ``razorpay_signature`` for *order_id* and *payment_id*.

    Raises:
        SignatureError: the signature is missing, malformed or does not match.
    """
    _check(payment_signature(order_id, payment_id, key_secret), signature, "checkout callback")


def payment_link_signature(
    payment_link_id: str, reference_id: str, status: str, payment_id: str, key_secret: str
) -> str:
    """Return the ``razorpay_signature`` of a Payment Link redirect.

    The message is ``payment_link_id|reference_id|status|payment_id``; an empty
    *reference_id* (a link created without one) gives ``plink_…||paid|pay_…``.
    """
    return _hmac(f"{payment_link_id}|{reference_id}|{status}|{payment_id}", key_secret)


def verify_payment_link_signature(
    payment_link_id: str,
    reference_id: str,
    status: str,
    payment_id: str,
    *,
    signature: str,
    key_secret: str,
) -> None:
    """Check the ``razorpay_signature`` of a Payment Link redirect.

    Raises:
        SignatureError: the signature is missing, malformed or does not match.
    """
    expected = payment_link_signature(payment_link_id, reference_id, status, payment_id, key_secret)
    _check(expected, signature, "payment link callback")


_CALLBACK_PARAMETERS = (
    "razorpay_payment_id",
    "razorpay_payment_link_id",
    "razorpay_payment_link_reference_id",
    "razorpay_payment_link_status",
    "razorpay_signature",
)


def verify_payment_link_callback(query: Mapping[str, str], key_secret: str) -> None:
    """Check the query parameters of the redirect to a Payment Link's ``callback_url``.

    *query* holds the parameters Razorpay adds (``razorpay_payment_id``,
    ``razorpay_payment_link_id``, ``razorpay_payment_link_reference_id`` (empty when the
    link has no reference), ``razorpay_payment_link_status``, ``razorpay_signature``);
    others are ignored. The redirect is a hint, not proof of payment: confirm it with a
    webhook or a lookup before crediting.

    Raises:
        SignatureError: a parameter is missing, or the signature does not match.
    """
    missing = [name for name in _CALLBACK_PARAMETERS if not isinstance(query.get(name), str)]
    if missing:
        msg = f"payment link callback: missing {', '.join(missing)}"
        raise SignatureError(msg)
    verify_payment_link_signature(
        query["razorpay_payment_link_id"],
        query["razorpay_payment_link_reference_id"],
        query["razorpay_payment_link_status"],
        query["razorpay_payment_id"],
        signature=query["razorpay_signature"],
        key_secret=key_secret,
    )
