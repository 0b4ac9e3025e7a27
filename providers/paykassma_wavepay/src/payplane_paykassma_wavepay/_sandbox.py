"""Entry point of the Wavepay sandbox (``payplane.sandboxes``): cheap to import.

payplane calls :func:`create_app` with its sandbox configuration and postback deliverer;
Starlette is imported only then. The other functions serve ``payplane sandbox serve``,
``payplane postback sign`` and ``payplane demo``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from payplane.exceptions import ConfigurationError
from payplane_paykassma_wavepay._sandbox_state import MAXIMUM_AMOUNT

__all__ = ["OPTIONS", "client_settings", "create_app", "run_demo", "sign_postback"]

PROVIDER_ID = "paykassma_wavepay"


_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MAXIMUM_COPIES = 10


def _integer(value: object, low: int, high: int) -> int:
    """*value* as an integer from *low* to *high*: an int, or ASCII digits."""
    if isinstance(value, str) and _INTEGER.fullmatch(value) and len(value) <= len(str(high)):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(value)
    return value


def _balance(value: object) -> int:
    return _integer(value, 0, MAXIMUM_AMOUNT)


def _amount(value: object) -> int:
    return _integer(value, 1, MAXIMUM_AMOUNT)


def _copies(value: object) -> int:
    return _integer(value, 1, _MAXIMUM_COPIES)


def _seconds(value: object) -> float:
    """*value* as seconds from 0 to 60: a number, or ASCII decimal text."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value) and len(value) <= 20:  # noqa: PLR2004
        value = float(value)
    number = None if isinstance(value, bool) or not isinstance(value, int | float) else value
    if number is None or not 0 <= number <= 60:  # noqa: PLR2004 - a sandbox delay
        raise ValueError(value)
    return float(number)


OPTIONS: Mapping[str, tuple[str, Callable[[object], object]]] = {
    "balance": (f"starting merchant balance, whole MMK from 0 to {MAXIMUM_AMOUNT}", _balance),
    "minimum_deposit": (f"minimum deposit, whole MMK from 1 to {MAXIMUM_AMOUNT}", _amount),
    "pending_delay": ("seconds until a pending activation is confirmed (0-60)", _seconds),
    "completion_delay": ("seconds until a withdrawal completes (0-60)", _seconds),
    "deposit_copies": (f"deliveries of each deposit postback (1-{_MAXIMUM_COPIES})", _copies),
}
"""Scenario options: name to (description, parser). Text values are ASCII digits (and,
for seconds, one decimal point): no sign, exponent, ``_``, space or other script."""


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
    """Return the Wavepay sandbox app for *config*, delivering postbacks with *deliverer*.

    Raises:
        ConfigurationError: a missing key or an unknown or invalid option.
    """
    from payplane_paykassma_wavepay._sandbox_app import build_app  # noqa: PLC0415
    from payplane_paykassma_wavepay._sandbox_state import (  # noqa: PLC0415
        SandboxKeys,
        WavepaySandbox,
    )

    keys = SandboxKeys(
        pluginapi_secret=config.key("pluginapi_secret"),
        withdrawal_private_key=config.key("withdrawal_private_key"),
        postback_access_key=config.key("postback_access_key"),
        postback_private_key=config.key("postback_private_key"),
    )
    return build_app(WavepaySandbox(keys, deliverer, **_options(config.options)))


def client_settings(base_url: str) -> dict[str, object]:
    """Return the non-secret settings that point a client at the sandbox at *base_url*."""
    return {"api_host": base_url, "plugin_host": f"{base_url}/plugin"}


def sign_postback(document: Mapping[str, Any], keys: Mapping[str, str]) -> bytes:
    """Return *document* as a postback body signed with the postback keys in *keys*.

    Raises:
        ConfigurationError: a postback key is missing.
        ValueError: *document* is not a postback (no ``additional_data`` nor
            ``transactions``).
    """
    from payplane_paykassma_wavepay._sandbox_state import (  # noqa: PLC0415
        sign_postback_document,
    )

    for name in ("postback_access_key", "postback_private_key"):
        if not keys.get(name):
            msg = f"signing a postback needs the key {name!r}"
            raise ConfigurationError(msg, field=name, provider=PROVIDER_ID)
    return sign_postback_document(
        document, keys["postback_access_key"], keys["postback_private_key"]
    )


def run_demo(harness: Any) -> None:  # noqa: ANN401 - payplane's demo harness
    """Run ``payplane demo``'s scenario against the sandbox *harness* started."""
    from payplane_paykassma_wavepay._sandbox_demo import run  # noqa: PLC0415

    run(harness)
