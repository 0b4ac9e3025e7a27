"""Entry point of the Wavepay sandbox (``payplane.sandboxes``): cheap to import.

payplane calls :func:`create_app` with its sandbox configuration and postback deliverer;
Starlette is imported only then. The other functions serve ``payplane sandbox serve``,
``payplane postback sign`` and ``payplane demo``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from payplane.exceptions import ConfigurationError

__all__ = ["OPTIONS", "client_settings", "create_app", "run_demo", "sign_postback"]

PROVIDER_ID = "paykassma_wavepay"


def _positive_int(value: object) -> int:
    number = int(str(value))
    if number <= 0:
        raise ValueError(value)
    return number


def _non_negative_int(value: object) -> int:
    number = int(str(value))
    if number < 0:
        raise ValueError(value)
    return number


def _seconds(value: object) -> float:
    number = float(str(value))
    if not 0 <= number <= 60:  # noqa: PLR2004 - a sandbox delay, not a real schedule
        raise ValueError(value)
    return number


OPTIONS: Mapping[str, tuple[str, Callable[[object], object]]] = {
    "balance": ("starting merchant balance, whole MMK", _non_negative_int),
    "minimum_deposit": ("minimum deposit, whole MMK", _positive_int),
    "pending_delay": ("seconds until a pending activation is confirmed (0-60)", _seconds),
    "completion_delay": ("seconds until a withdrawal completes (0-60)", _seconds),
    "deposit_copies": ("deliveries of each deposit postback", _positive_int),
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
