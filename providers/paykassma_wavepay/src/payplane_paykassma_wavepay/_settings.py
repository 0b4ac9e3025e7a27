"""Settings of the Paykassma Wavepay provider.

Only the two postback keys are always required: a process that only receives postbacks
(an :class:`~payplane.Inbox`, ``payplane postback verify``, ``payplane inbox retry``)
needs nothing else. The hosts and the two API keys are optional here and required by the
operations that use them (:data:`NEEDED_FOR`), which raise
:class:`~payplane.exceptions.ConfigurationError` naming the missing setting before
anything is sent.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit

import attrs

from payplane import Secret, secret_field
from payplane.exceptions import ConfigurationError, ValidationError

__all__ = ["DEFAULT_POSTBACK_TIMEZONE", "LANGUAGES", "NEEDED_FOR", "WavepaySettings"]

NEEDED_FOR: dict[str, tuple[str, ...]] = {
    "api_host": ("start_deposit (wallet details)", "activate_deposit", "create_withdrawal"),
    "pluginapi_secret": ("start_deposit (wallet details)", "activate_deposit"),
    "withdrawal_private_key": ("create_withdrawal",),
    "plugin_host": ("start_deposit (hosted page)",),
}
"""The optional settings and the operations that need them; postbacks need none of them."""

LANGUAGES = frozenset({"en", "my"})
"""The languages of Paykassma's Wavepay payment window."""

DEFAULT_POSTBACK_TIMEZONE = timezone(timedelta(hours=8))
"""Paykassma's default zone for postback datetimes: UTC+08:00."""

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


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


def _language(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in LANGUAGES:
        msg = f"{value!r} is not a payment-window language"
        raise ValidationError(attribute.name, msg, limit="en or my")


def to_timezone(value: tzinfo | str) -> tzinfo:
    """Return a ``tzinfo`` for *value*: a ``tzinfo``, ``"+08:00"``, ``"UTC"`` or an IANA name.

    Raises:
        ValidationError: anything else (names ``postback_timezone``).
    """
    field = "postback_timezone"
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str):
        raise ValidationError(field, "must be a tzinfo or a string", limit="+HH:MM")
    if value in {"UTC", "Z"}:
        return UTC
    match = _OFFSET.fullmatch(value)
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if offset >= timedelta(hours=24) or int(minutes) >= 60:  # noqa: PLR2004
            raise ValidationError(field, f"{value!r} is out of range", limit="+HH:MM")
        return timezone(-offset if sign == "-" else offset)
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = f"{value!r} is neither an offset nor a known time zone"
        raise ValidationError(field, msg, limit="+HH:MM or an IANA zone name") from None


def _max_bytes(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        msg = f"{value!r} is not a positive number of bytes"
        raise ValidationError(attribute.name, msg, limit="integer > 0")


@attrs.frozen(kw_only=True)
class WavepaySettings:
    """How to reach Paykassma and check what it sends.

    ``repr()`` never shows the four keys (they are :class:`~payplane.Secret`). Only the
    postback keys are required; see :data:`NEEDED_FOR` for the rest. A key that is empty,
    blank, surrounded by whitespace (a newline read from a file) or holds a control
    character is refused, naming the field (:func:`~payplane.secret_field`'s checks).

    Attributes:
        api_host: Base URL of the merchant's Paykassma API, ``"https://api.example.com"``
            (white-label hosts exist). https only; http is accepted for a loopback host
            (the sandbox). A trailing ``/`` is dropped. Needed for wallet details,
            activation and withdrawals.
        pluginapi_secret: The panel's ``pluginapi_secret``, sent as ``?secret=`` on the
            deposit and activation calls. Needed for those.
        withdrawal_private_key: The private key that signs withdrawal requests. Needed
            for withdrawals.
        postback_access_key: The panel's ``postback_access_key``; every postback carries it.
        postback_private_key: The panel's ``postback_private_access_key``, which signs
            postbacks (some merchants use the withdrawal private key here).
        plugin_host: Base URL of the hosted payment window, ``"https://plugin.example.com"``;
            same https rule. Needed for the hosted page's URL.
        default_language: Payment-window language when a request names none: ``"en"`` or
            ``"my"``.
        postback_timezone: The zone of the datetimes in postbacks (Paykassma's default is
            UTC+08:00); a ``tzinfo``, ``"+08:00"``, ``"UTC"`` or an IANA name.
        max_postback_bytes: Postback bodies over this size are refused unread (bytes).
    """

    api_host: str | None = attrs.field(
        default=None, converter=_strip_slash, validator=attrs.validators.optional(_base_url)
    )
    pluginapi_secret: Secret | None = secret_field(default=None)
    withdrawal_private_key: Secret | None = secret_field(default=None)
    postback_access_key: Secret = secret_field()
    postback_private_key: Secret = secret_field()
    plugin_host: str | None = attrs.field(
        default=None, converter=_strip_slash, validator=attrs.validators.optional(_base_url)
    )
    default_language: str = attrs.field(default="en", validator=_language)
    postback_timezone: tzinfo = attrs.field(
        default=DEFAULT_POSTBACK_TIMEZONE, converter=to_timezone
    )
    max_postback_bytes: int = attrs.field(default=1_048_576, validator=_max_bytes)

    def needed(self, name: str, operation: str) -> Any:  # noqa: ANN401 - the field's type
        """Return the optional setting *name*, which *operation* needs.

        Raises:
            ConfigurationError: the setting is not set (names it and the operation).
        """
        value = getattr(self, name)
        if value is None:
            msg = (
                f"{operation} needs the setting {name!r}, which is not set "
                "(only the postback keys are always required)"
            )
            raise ConfigurationError(msg, field=name, provider="paykassma_wavepay")
        return value
