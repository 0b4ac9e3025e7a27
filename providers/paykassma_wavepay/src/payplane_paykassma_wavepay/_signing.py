"""Paykassma's two signatures: withdrawal requests and postbacks.

Both are plain concatenations hashed with MD5 and SHA-1 (not HMAC), as Paykassma
defines them; both were checked against signatures the live API produced or accepted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from payplane.exceptions import MalformedPayloadError, PayloadTooLargeError, SignatureError
from payplane_paykassma_wavepay._rawjson import ScanOnce, scan_object

__all__ = [
    "CURRENT_SIGNED_MEMBER",
    "LEGACY_SIGNED_MEMBER",
    "VerifiedBody",
    "php_str",
    "postback_signature",
    "verify_body",
    "verify_postback_body",
    "withdrawal_signature",
    "withdrawal_signing_text",
]

CURRENT_SIGNED_MEMBER = "additional_data"
"""The member whose raw JSON text the current postback format signs."""

LEGACY_SIGNED_MEMBER = "transactions"
"""The member whose raw JSON text the legacy postback format signs."""


def php_str(value: object) -> str:
    """Write *value* as PHP's string conversion does, for the withdrawal signature.

    ``True`` is ``"1"``; ``False`` and ``None`` are ``""``; integers are written in
    decimal; strings as they are; a ``Decimal`` as plain decimal text (never in exponent
    form). Floats are refused: money is never a binary float here.

    Raises:
        TypeError: a float, or a type PHP's rules above do not cover.
    """
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            msg = f"{value} is not a finite amount"
            raise TypeError(msg)
        return format(value, "f")
    msg = f"cannot sign a {type(value).__name__} value; pass str, int, bool, None or Decimal"
    raise TypeError(msg)


def _signed_values(fields: Mapping[str, object], *, top: bool) -> list[str]:
    values: list[str] = []
    for name in sorted(fields):
        if top and name == "signature":
            continue
        value = fields[name]
        if type(value) is str:  # most values: skip the slower checks below
            values.append(value)
        elif isinstance(value, Mapping):
            # A nested object contributes its own values, in key order, at its parent's
            # place (Paykassma's docs do not say: inferred, see the provider's docs page).
            values.extend(_signed_values(value, top=False))
        else:
            values.append(php_str(value))
    return values


def withdrawal_signing_text(fields: Mapping[str, object]) -> str:
    """Return the text the withdrawal signature hashes: the values joined with ``":"``.

    Values are taken in field-name order, ``signature`` left out, each written by
    :func:`php_str`; a nested mapping contributes its values, in key order, at its
    parent's place. Field names take no part.
    """
    return ":".join(_signed_values(fields, top=True))


def withdrawal_signature(fields: Mapping[str, object], private_key: str) -> str:
    """Sign a withdrawal request: ``sha1(private_key + md5(signing text))``, lower-case hex.

    Args:
        fields: The request's JSON fields as sent (a ``signature`` member is ignored).
        private_key: The merchant's withdrawal private key.

    Raises:
        TypeError: a value :func:`php_str` cannot write (a float, a list).
    """
    digest = hashlib.md5(withdrawal_signing_text(fields).encode(), usedforsecurity=False)
    return hashlib.sha1(
        (private_key + digest.hexdigest()).encode(), usedforsecurity=False
    ).hexdigest()


def postback_signature(access_key: str, private_key: str, signed_json: bytes | str) -> str:
    """Sign a postback: ``sha1(access_key + private_key + md5(signed_json))``, lower-case hex.

    Args:
        access_key: The postback access key.
        private_key: The postback private access key.
        signed_json: The raw JSON text of the signed member (``additional_data``, or
            ``transactions`` in the legacy format), byte for byte; text is encoded as UTF-8.
    """
    raw = signed_json.encode() if isinstance(signed_json, str) else signed_json
    digest = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    return hashlib.sha1(
        (access_key + private_key + digest).encode(), usedforsecurity=False
    ).hexdigest()


class VerifiedBody:
    """A postback body whose access key and signature checked out.

    Attributes:
        members: The top-level members, parsed, ``access_key`` and ``signature`` removed.
        signed_member: ``"additional_data"`` (current format) or ``"transactions"``
            (legacy format).
        signed_text: The signed member's raw JSON text, as the signature covers it.
    """

    __slots__ = ("members", "signed_member", "signed_text")

    def __init__(self, members: dict[str, Any], signed_member: str, signed_text: str) -> None:
        self.members = members
        self.signed_member = signed_member
        self.signed_text = signed_text


def _same(given: object, expected: str) -> bool:
    # Compare bytes: hmac.compare_digest refuses str holding non-ASCII characters.
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def verify_body(
    body: bytes,
    access_key: str,
    private_key: str,
    *,
    max_bytes: int | None = None,
    scanners: Mapping[str, ScanOnce] | None = None,
) -> VerifiedBody:
    """Check a postback body; return its members, parsed once, when it is authentic.

    In order: the size limit, the JSON object (duplicate top-level names refused), the
    access key (constant-time), then the signature over the signed member's raw text.

    Raises:
        PayloadTooLargeError: *body* is over *max_bytes*.
        MalformedPayloadError: not UTF-8 JSON holding one object with exactly one of
            ``additional_data`` and ``transactions``.
        SignatureError: wrong access key or signature.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise PayloadTooLargeError(len(body), max_bytes, operation="verify_postback")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_byte: int | None = exc.start
    else:
        bad_byte = None
    if bad_byte is not None:
        # Raised outside the except block: the decoder's error holds the whole body (the
        # access key too), and not even as a suppressed context may it travel on.
        msg = f"the body is not UTF-8 (byte {bad_byte})"
        raise MalformedPayloadError(msg)
    members, spans = scan_object(text, scanners)
    has_current = CURRENT_SIGNED_MEMBER in members
    if has_current == (LEGACY_SIGNED_MEMBER in members):
        msg = (
            f"a postback holds exactly one of {CURRENT_SIGNED_MEMBER!r} (current format) "
            f"and {LEGACY_SIGNED_MEMBER!r} (legacy format)"
        )
        raise MalformedPayloadError(msg)
    signed_member = CURRENT_SIGNED_MEMBER if has_current else LEGACY_SIGNED_MEMBER
    given_access_key = members.pop("access_key", None)
    given_signature = members.pop("signature", None)
    if not _same(given_access_key, access_key):
        msg = "the postback's access_key does not match the configured postback_access_key"
        raise SignatureError(msg)
    start, end = spans[signed_member]
    signed_text = text[start:end]
    expected = postback_signature(access_key, private_key, signed_text.encode())
    if not _same(given_signature, expected):
        msg = (
            "the postback signature does not match: the body was altered, or "
            "postback_private_key is wrong"
        )
        raise SignatureError(msg)
    return VerifiedBody(members, signed_member, signed_text)


def verify_postback_body(body: bytes, access_key: str, private_key: str) -> None:
    """Verify a raw postback *body* with the two postback keys; return if it is authentic.

    The signature covers the raw text of ``additional_data`` (current format) or
    ``transactions`` (legacy format) exactly as it appears in *body*.

    Raises:
        SignatureError: the access key in the body or the signature does not match.
        MalformedPayloadError: the body is not a JSON object in either postback format.
    """
    verify_body(body, access_key, private_key)
