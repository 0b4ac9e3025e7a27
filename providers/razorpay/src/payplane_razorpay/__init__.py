"""payplane provider for Razorpay (India).

Payment Links, refunds, lookups, RazorpayX payouts and signed webhooks.
Use it through payplane (``payplane.client("razorpay", settings)``). This package also
exports Razorpay's signature functions, for people who debug integrations: the webhook
signature and the Checkout and Payment Link callback signatures, each with a
constant-time ``verify_*`` twin that raises :class:`~payplane.exceptions.SignatureError`.

The names are loaded on first use, so importing the plugin's entry point stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payplane_razorpay._provider import RazorpayProvider
    from payplane_razorpay._settings import RazorpaySettings
    from payplane_razorpay._signing import (
        payment_link_signature,
        payment_signature,
        verify_payment_link_callback,
        verify_payment_link_signature,
        verify_payment_signature,
        verify_webhook_signature,
        webhook_signature,
    )

__all__ = [
    "RazorpayProvider",
    "RazorpaySettings",
    "payment_link_signature",
    "payment_signature",
    "verify_payment_link_callback",
    "verify_payment_link_signature",
    "verify_payment_signature",
    "verify_webhook_signature",
    "webhook_signature",
]

_WHERE = {
    "RazorpayProvider": "_provider",
    "RazorpaySettings": "_settings",
    "payment_link_signature": "_signing",
    "payment_signature": "_signing",
    "verify_payment_link_callback": "_signing",
    "verify_payment_link_signature": "_signing",
    "verify_payment_signature": "_signing",
    "verify_webhook_signature": "_signing",
    "webhook_signature": "_signing",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the name is bound to
    module = _WHERE.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
