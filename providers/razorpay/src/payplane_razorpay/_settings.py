"""Settings of the Razorpay provider, under Razorpay's own names."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import attrs

from payplane import Secret, secret_field
from payplane.exceptions import ValidationError

__all__ = [
    "BANK_MODES",
    "DEFAULT_API_BASE_URL",
    "PURPOSES",
    "RazorpaySettings",
    "check_narration",
]

DEFAULT_API_BASE_URL = "https://api.razorpay.com"
"""Razorpay's API, for test and live mode alike (the key pair chooses the mode)."""

BANK_MODES = frozenset({"IMPS", "NEFT", "RTGS"})
"""RazorpayX payout modes to a bank account (upper case, as Razorpay wants them)."""

PURPOSES = frozenset({"refund", "cashback", "payout", "salary", "utility bill", "vendor bill"})
"""The payout purposes every RazorpayX account has; others are added in its Dashboard."""

CONTACT_TYPES = frozenset({"vendor", "customer", "employee", "self"})
"""The contact types every RazorpayX account has; others are added in its Dashboard."""

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_KEY_ID = re.compile(r"rzp_(test|live)_[A-Za-z0-9]+")
_ACCOUNT_NUMBER = re.compile(r"[A-Za-z0-9]{5,40}")
_NARRATION = re.compile(r"[A-Za-z0-9 ]{1,30}")


def _base_url(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """Accept an https base URL, or http to a loopback host (the sandbox)."""
    name = attribute.name
    if not isinstance(value, str):
        raise ValidationError(name, "must be a URL string", limit="https URL")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError(name, f"{value!r} is not a URL", limit="https URL") from None
    if not host:
        raise ValidationError(name, f"{value!r} has no host", limit="https URL")
    if parts.username is not None or parts.password is not None:
        msg = "must not hold credentials (user:password@)"
        raise ValidationError(name, msg, limit="https URL")
    if parts.query or parts.fragment:
        raise ValidationError(name, "must not hold a query or fragment", limit="https URL")
    if parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK):
        return
    msg = f"{value!r} must use https (http is accepted only for 127.0.0.1, localhost, ::1)"
    raise ValidationError(name, msg, limit="https, or http to a loopback host")


def _strip_slash(value: object) -> object:
    return value.rstrip("/") if isinstance(value, str) else value


def _key_id(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    # Razorpay documents the prefixes; the length of the rest is not documented, so
    # only its characters are checked.
    if not isinstance(value, str) or _KEY_ID.fullmatch(value) is None:
        msg = f"{value!r} is not a Razorpay key id"
        raise ValidationError(attribute.name, msg, limit="rzp_test_… or rzp_live_…")


def _non_empty_secret(_instance: object, attribute: attrs.Attribute[Secret], value: Secret) -> None:
    if not value:
        raise ValidationError(attribute.name, "must not be empty", limit="non-empty")


def _optional_secret(value: object) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value) if value else None
    msg = f"a secret must be a str, not {type(value).__name__}"
    raise TypeError(msg)


def _account_number(
    _instance: object, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, str) or _ACCOUNT_NUMBER.fullmatch(value) is None:
        msg = "is not a RazorpayX account number"
        raise ValidationError(attribute.name, msg, limit="5-40 letters or digits")


def _bank_mode(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in BANK_MODES:
        msg = f"{value!r} is not a bank payout mode"
        raise ValidationError(attribute.name, msg, limit="IMPS, NEFT or RTGS")


def _text(low: int, high: int) -> Callable[[object, attrs.Attribute[str], object], None]:
    def check(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not low <= len(value) <= high:
            msg = f"{value!r} is not {low}-{high} characters"
            raise ValidationError(attribute.name, msg, limit=f"{low}-{high} characters")

    return check


def check_narration(field: str, value: object) -> str:
    """Return *value* if it is a RazorpayX narration: 1-30 letters, digits and spaces.

    Raises:
        ValidationError: anything else (names *field*).
    """
    if not isinstance(value, str) or _NARRATION.fullmatch(value) is None:
        msg = f"{value!r} is not a narration"
        raise ValidationError(field, msg, limit="1-30 letters, digits or spaces")
    return value


def _narration(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        check_narration(attribute.name, value)


def _max_bytes(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        msg = f"{value!r} is not a positive number of bytes"
        raise ValidationError(attribute.name, msg, limit="integer > 0")


def _bool(_instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, f"{value!r} is not a bool", limit="true or false")


@attrs.frozen(kw_only=True)
class RazorpaySettings:
    """How to reach Razorpay and check what it sends.

    ``repr()`` never shows the secrets (they are :class:`~payplane.Secret`).

    Attributes:
        key_id: The API key id (Dashboard, Account & Settings, API Keys):
            ``rzp_test_…`` in test mode, ``rzp_live_…`` in live mode. Not secret.
        key_secret: The API key secret, shown once when the key is generated. With
            *key_id* it authenticates every call (HTTP Basic) and signs the Checkout and
            Payment Link redirects.
        webhook_secret: The secret entered when the webhook was set up (Dashboard,
            Webhooks; RazorpayX has its own Webhooks page and may have its own secret).
            It signs every webhook; it is not the key secret.
        previous_webhook_secret: During a rotation of the webhook secret, the old one:
            Razorpay keeps signing retries of older events with it, for up to 24 hours,
            so webhooks signed with either secret are accepted until this is unset.
            Optional; secret (never shown; redacted like the others).
        payout_account_number: The merchant's own RazorpayX account number (RazorpayX
            Dashboard: the current account number, or the customer identifier of a
            RazorpayX Lite account); it differs between test and live mode. Payouts and
            payout lookups by reference need it. Not the beneficiary's account.
        api_base_url: Razorpay's API, ``https://api.razorpay.com`` by default; https
            only, http for a loopback host (the sandbox). A trailing ``/`` is dropped.
        payout_mode: The mode of payouts to bank accounts when a request names none:
            ``"IMPS"`` (default), ``"NEFT"`` or ``"RTGS"``. Payouts to a UPI id use UPI.
        payout_purpose: The payout ``purpose`` when a request names none: ``"payout"``
            by default (see :data:`PURPOSES`; custom purposes come from the Dashboard).
        payout_narration: The narration on the beneficiary's bank statement when a
            request has no comment: 1-30 letters, digits or spaces; ``None`` lets
            Razorpay use the merchant's billing label.
        queue_if_low_balance: Whether payouts wait in ``queued`` when the balance is low
            (``True``) instead of failing (``False``, the default, as Razorpay's).
        contact_type: The RazorpayX contact ``type`` of beneficiaries: ``"customer"`` by
            default (``vendor``, ``employee``, ``self``, or one added in the Dashboard).
        notify_sms: Whether Razorpay texts each Payment Link to the customer (default
            ``False``: the platform shows the link itself).
        notify_email: Whether Razorpay emails each Payment Link to the customer (default
            ``False``).
        max_postback_bytes: Webhook bodies over this size are refused unread (bytes).
    """

    key_id: str = attrs.field(validator=_key_id)
    key_secret: Secret = secret_field(validator=_non_empty_secret)
    webhook_secret: Secret = secret_field(validator=_non_empty_secret)
    # Not declared with secret_field: payplane's sandbox and CLI treat every declared
    # secret field as required, and this one is optional. Its type is Secret, so every
    # view that hides secrets (secret_values, repr) hides it too.
    previous_webhook_secret: Secret | None = attrs.field(
        default=None, converter=_optional_secret, repr=False
    )
    payout_account_number: str | None = attrs.field(default=None, validator=_account_number)
    api_base_url: str = attrs.field(
        default=DEFAULT_API_BASE_URL, converter=_strip_slash, validator=_base_url
    )
    payout_mode: str = attrs.field(default="IMPS", validator=_bank_mode)
    payout_purpose: str = attrs.field(default="payout", validator=_text(1, 40))
    payout_narration: str | None = attrs.field(default=None, validator=_narration)
    queue_if_low_balance: bool = attrs.field(default=False, validator=_bool)
    contact_type: str = attrs.field(default="customer", validator=_text(1, 40))
    notify_sms: bool = attrs.field(default=False, validator=_bool)
    notify_email: bool = attrs.field(default=False, validator=_bool)
    max_postback_bytes: int = attrs.field(default=1_048_576, validator=_max_bytes)

    @property
    def live(self) -> bool:
        """Whether *key_id* is a live-mode key (``rzp_live_…``)."""
        return self.key_id.startswith("rzp_live_")

    def webhook_secrets(self) -> tuple[str, ...]:
        """The webhook secrets a signature may use: the current one, then the previous one."""
        current = self.webhook_secret.reveal()
        previous = self.previous_webhook_secret
        if previous is None or previous.reveal() == current:
            return (current,)
        return (current, previous.reveal())
