"""The entry point, the registry and the public API."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import payplane
import payplane_paykassma_wavepay
from payplane import Capability
from payplane.exceptions import ConfigurationError
from payplane_paykassma_wavepay import WavepayProvider, WavepaySettings
from payplane_paykassma_wavepay._plugin import payplane_providers


def test_importing_plugin_is_cheap() -> None:
    """Importing the entry-point module loads neither the implementation nor httpx."""
    code = (
        "import sys, payplane_paykassma_wavepay._plugin as p; p.payplane_providers(); "
        "bad = [m for m in ('payplane_paykassma_wavepay._provider', "
        "'payplane_paykassma_wavepay._signing', 'payplane_paykassma_wavepay._wire', "
        "'httpx', 'cattrs') if m in sys.modules]; print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_spec() -> None:
    """The plugin declares one provider with four capabilities (no lookups, no refunds) and MMK."""
    [spec] = payplane_providers()
    assert spec.id == "paykassma_wavepay"
    assert spec.display_name == "Paykassma Wavepay"
    assert spec.capabilities == frozenset(Capability) - {Capability.LOOKUPS, Capability.REFUNDS}
    assert spec.currencies == frozenset({"MMK"})
    assert spec.api_version == payplane.PLUGIN_API_VERSION
    assert spec.load_settings_class() is WavepaySettings
    assert spec.load_factory() is WavepayProvider
    assert spec.secret_fields() == (
        "pluginapi_secret",
        "withdrawal_private_key",
        "postback_access_key",
        "postback_private_key",
    )


def test_registry_finds_provider() -> None:
    """The installed entry point is found and loads without problems."""
    registry = payplane.Registry()
    assert "paykassma_wavepay" in registry.providers()
    assert registry.problems == ()


def test_registry_makes_provider(kit: Any) -> None:
    """The registry builds the provider, which implements every declared protocol."""
    registry = payplane.Registry()
    spec, settings, instance = registry.create_provider("paykassma_wavepay", kit.settings_values())
    assert isinstance(settings, WavepaySettings)
    assert isinstance(instance, WavepayProvider)
    for capability in spec.capabilities:
        assert isinstance(instance, capability.protocol)


def test_invalid_setting_names_field(kit: Any) -> None:
    """An http API host becomes a ConfigurationError naming the field."""
    registry = payplane.Registry()
    with pytest.raises(ConfigurationError) as info:
        registry.create_provider(
            "paykassma_wavepay", kit.settings_values(api_host="http://api.example.com")
        )
    assert info.value.field == "api_host"


def test_all_is_sorted_and_exported() -> None:
    """`__all__` is sorted and every name in it resolves."""
    names = payplane_paykassma_wavepay.__all__
    assert names == sorted(names)
    assert names == [
        "WavepayProvider",
        "WavepaySettings",
        "postback_signature",
        "verify_postback_body",
        "withdrawal_signature",
    ]
    for name in names:
        assert getattr(payplane_paykassma_wavepay, name) is not None


def test_unknown_attribute() -> None:
    """A name outside the public API is an AttributeError."""
    with pytest.raises(AttributeError):
        _ = payplane_paykassma_wavepay.nothing_here
