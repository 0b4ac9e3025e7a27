"""Entry point of the Razorpay sandbox (``payplane.sandboxes``): cheap to import.

payplane calls :func:`create_app` with its sandbox configuration and webhook deliverer;
Starlette is imported only then. :func:`client_settings` points a client at the
sandbox; :func:`sign_postback` (the body) and :func:`signed_postback` (the body and the
headers: Razorpay signs in a header) serve ``payplane postback sign`` and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from payplane.exceptions import ConfigurationError

__all__ = [
    "OPTIONS",
    "client_settings",
    "create_app",
    "run_demo",
    "sign_postback",
    "signed_postback",
]

PROVIDER_ID = "razorpay"


def _non_negative_int(value: object) -> int:
    number = int(str(value))
    if number < 0:
        raise ValueError(value)
    return number


def _positive_int(value: object) -> int:
    number = int(str(value))
    if number <= 0:
        raise ValueError(value)
    return number


def _seconds(value: object) -> float:
    number = float(str(value))
    if not 0 <= number <= 60:  # noqa: PLR2004 - a sandbox delay, not a real schedule
        raise ValueError(value)
    return number


def _shape(value: object) -> str:
    if value not in {"error", "failed"}:
        raise ValueError(value)
    return str(value)


OPTIONS: Mapping[str, tuple[str, Callable[[object], object]]] = {
    "balance": ("starting RazorpayX balance, paise", _non_negative_int),
    "payment_delay": ("seconds until a new Payment Link settles (0-60)", _seconds),
    "refund_delay": ("seconds until a refund is processed or fails (0-60)", _seconds),
    "payout_delay": ("seconds until a payout is processed, fails or reverses (0-60)", _seconds),
    "webhook_copies": ("deliveries of each webhook", _positive_int),
    "insufficient_funds": (
        (
            "how a payout over the balance is refused: error (an API error) or failed "
            "(a failed payout)"
        ),
        _shape,
    ),
}
"""Scenario options: name to (description, parser)."""


class _Config(Protocol):
    """What the sandbox reads of payplane's sandbox configuration."""

    @property
    def options(self) -> Mapping[str, object]: ...

    def key(self, name: str) -> str: ...


def _options(values: Mapping[str, object]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in OPTIONS:
            msg = f"unknown sandbox option {name!r}; known: {', '.join(sorted(OPTIONS))}"
            raise ConfigurationError(msg, field=name, provider=PROVIDER_ID)
        description, parse = OPTIONS[name]
        try:
            parsed[name] = parse(value)
        except ValueError:
            msg = f"sandbox option {name}={value!r} is invalid: {description}"
            raise ConfigurationError(msg, field=name, provider=PROVIDER_ID) from None
    return parsed


def create_app(config: _Config, deliverer: Any) -> Any:  # noqa: ANN401 - an ASGI app
    """Return the Razorpay sandbox app for *config*, delivering webhooks with *deliverer*.

    Raises:
        ConfigurationError: a missing key or an unknown or invalid option.
    """
    from payplane_razorpay._sandbox_app import build_app  # noqa: PLC0415
    from payplane_razorpay._sandbox_state import RazorpaySandbox, SandboxKeys  # noqa: PLC0415

    keys = SandboxKeys(
        key_secret=config.key("key_secret"), webhook_secret=config.key("webhook_secret")
    )
    return build_app(RazorpaySandbox(keys, deliverer, **_options(config.options)))


def client_settings(base_url: str) -> dict[str, object]:
    """Return the non-secret settings that point a client at the sandbox at *base_url*."""
    from payplane_razorpay._sandbox_state import ACCOUNT_NUMBER, KEY_ID  # noqa: PLC0415

    return {"api_base_url": base_url, "key_id": KEY_ID, "payout_account_number": ACCOUNT_NUMBER}


def signed_postback(
    document: Mapping[str, Any], keys: Mapping[str, str]
) -> tuple[bytes, dict[str, str]]:
    """Return *document* as a webhook body and its headers, signed with ``webhook_secret``.

    The headers are ``x-razorpay-signature`` and a fresh ``x-razorpay-event-id``.

    Raises:
        ConfigurationError: ``webhook_secret`` is missing from *keys*.
        ValueError: *document* is not a webhook (no ``event`` string).
    """
    from payplane_razorpay._sandbox_state import sign_document  # noqa: PLC0415

    secret = keys.get("webhook_secret")
    if not secret:
        msg = "signing a webhook needs the key 'webhook_secret'"
        raise ConfigurationError(msg, field="webhook_secret", provider=PROVIDER_ID)
    if not isinstance(document.get("event"), str):
        msg = "a Razorpay webhook needs an 'event' string"
        raise ValueError(msg)  # noqa: TRY004 - payplane's CLI reports ValueError as "not a postback"
    return sign_document(document, secret)


def sign_postback(document: Mapping[str, Any], keys: Mapping[str, str]) -> bytes:
    """Return *document* as a webhook body signed with ``webhook_secret``.

    Razorpay's signature travels in the ``X-Razorpay-Signature`` header, which this
    body-only form (the one payplane's sandbox machinery calls) cannot return: compute it
    with :func:`payplane_razorpay.webhook_signature`, or use :func:`signed_postback`.

    Raises:
        ConfigurationError: ``webhook_secret`` is missing from *keys*.
        ValueError: *document* is not a webhook.
    """
    body, _ = signed_postback(document, keys)
    return body


def run_demo(harness: Any) -> None:  # noqa: ANN401 - payplane's demo harness
    """Run Razorpay's part of ``payplane demo`` against the sandbox *harness* started."""
    from payplane_razorpay._sandbox_demo import run  # noqa: PLC0415

    run(harness)
