"""payplane provider for Paykassma's Wavepay (Myanmar, MMK).

Use it through payplane (``payplane.client("paykassma_wavepay", settings)``). This package
also exports the two signature algorithms, for tools and tests that need them alone.

The names are loaded on first use, so importing the plugin's entry point stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payplane_paykassma_wavepay._provider import WavepayProvider
    from payplane_paykassma_wavepay._settings import WavepaySettings
    from payplane_paykassma_wavepay._signing import (
        postback_signature,
        verify_postback_body,
        withdrawal_signature,
    )

__all__ = [
    "WavepayProvider",
    "WavepaySettings",
    "postback_signature",
    "verify_postback_body",
    "withdrawal_signature",
]

_WHERE = {
    "WavepayProvider": "_provider",
    "WavepaySettings": "_settings",
    "postback_signature": "_signing",
    "verify_postback_body": "_signing",
    "withdrawal_signature": "_signing",
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
