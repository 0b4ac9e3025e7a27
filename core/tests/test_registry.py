"""The plugin registry: registration, errors, block list, version check."""

from __future__ import annotations

import types

import payplane_fakepsp
import pytest

import payplane
from payplane import Capability, ProviderSpec
from payplane.exceptions import ConfigurationError, PluginLoadError, UnknownProviderError
from payplane.hookspecs import hookimpl


def _plugin(spec: ProviderSpec) -> types.SimpleNamespace:
    @hookimpl
    def payplane_providers() -> list[ProviderSpec]:
        return [spec]

    return types.SimpleNamespace(payplane_providers=payplane_providers)


def _spec(**changes: object) -> ProviderSpec:
    values: dict[str, object] = {
        "id": "other",
        "display_name": "Other",
        "capabilities": {Capability.DEPOSITS},
        "currencies": {"USD"},
        "api_version": payplane.PLUGIN_API_VERSION,
        "settings": payplane_fakepsp.FakeSettings,
        "factory": payplane_fakepsp.FakeProvider,
    } | changes
    return ProviderSpec(**values)  # type: ignore[arg-type]


def test_registered_provider_is_listed(registry: payplane.Registry) -> None:
    """An in-process plugin's providers are listed with their capabilities."""
    spec = registry.providers()["fakepsp"]
    assert spec.capabilities == frozenset(Capability)
    assert spec.display_name == "FakePSP"


def test_unknown_provider_lists_installed(registry: payplane.Registry) -> None:
    """Asking for a missing id names the ones that exist."""
    with pytest.raises(UnknownProviderError) as info:
        registry.spec("nope")
    assert info.value.installed == ("fakepsp",)
    assert "installed providers: fakepsp" in str(info.value)


def test_incompatible_api_version_is_skipped_with_warning() -> None:
    """A provider written for another plugin API is skipped; the reason is kept."""
    registry = payplane.Registry(autoload=False)
    with pytest.warns(payplane.PluginLoadWarning, match="plugin API version 99"):
        registry.register(_plugin(_spec(api_version=99)), name="future")
    assert "other" not in registry.providers()
    (problem,) = registry.problems
    assert problem.name == "future"
    assert "version 99" in problem.reason


def test_incompatible_api_version_raises_in_strict_mode() -> None:
    """Strict mode turns a skipped plugin into an error."""
    registry = payplane.Registry(autoload=False, strict=True)
    with pytest.raises(PluginLoadError, match="version 99"):
        registry.register(_plugin(_spec(api_version=99)), name="future")


def test_unknown_hook_is_a_load_problem() -> None:
    """check_pending() catches implementations of hooks that do not exist."""

    @hookimpl
    def payplane_no_such_hook() -> None:
        """Not a payplane hook."""

    registry = payplane.Registry(autoload=False)
    plugin = types.SimpleNamespace(payplane_no_such_hook=payplane_no_such_hook)
    with pytest.warns(payplane.PluginLoadWarning, match="unknown hook"):
        registry.register(plugin, name="typo")
    assert not registry.plugin_manager.has_plugin("typo")


def test_duplicate_provider_id_is_a_load_problem(registry: payplane.Registry) -> None:
    """Two plugins cannot claim one id; the first one stays."""
    with pytest.warns(payplane.PluginLoadWarning, match="already registered"):
        registry.register(_plugin(_spec(id="fakepsp")), name="impostor")
    assert registry.providers()["fakepsp"].display_name == "FakePSP"


def test_block_list_by_provider_id() -> None:
    """A blocked provider id is never registered."""
    registry = payplane.Registry(autoload=False, blocked={"fakepsp"})
    registry.register(payplane_fakepsp, name="fakepsp")
    assert "fakepsp" not in registry.providers()


def test_block_list_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PAYPLANE_BLOCK_PROVIDERS adds to the block list."""
    monkeypatch.setenv("PAYPLANE_BLOCK_PROVIDERS", " fakepsp , x")
    registry = payplane.Registry(autoload=False)
    assert registry.blocked == {"fakepsp", "x"}


def test_autoload_switch_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PAYPLANE_DISABLE_PLUGIN_AUTOLOAD turns entry-point loading off."""
    monkeypatch.setenv("PAYPLANE_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = payplane.Registry()
    assert registry.autoload is False
    assert registry.providers() == {}


def test_invalid_settings_name_the_field(registry: payplane.Registry) -> None:
    """A bad settings value raises a configuration error naming the field."""
    with pytest.raises(ConfigurationError) as info:
        registry.client(
            "fakepsp", {"base_url": "ftp://x", "api_key": "k" * 10, "webhook_secret": "w" * 10}
        )
    assert info.value.field == "base_url"


def test_missing_setting_is_named(registry: payplane.Registry) -> None:
    """A missing required setting is named."""
    with pytest.raises(ConfigurationError) as info:
        registry.client("fakepsp", {"base_url": "https://x"})
    assert info.value.field == "api_key"


def test_unknown_setting_is_named(registry: payplane.Registry, settings: dict[str, object]) -> None:
    """A misspelt setting is named, with the known ones."""
    with pytest.raises(ConfigurationError) as info:
        registry.client("fakepsp", settings | {"apikey": "x"})
    assert info.value.field == "apikey"
    assert "api_key" in str(info.value)


def test_secret_setting_of_wrong_type_is_not_echoed(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A secret given with the wrong type is refused without showing it."""
    with pytest.raises(ConfigurationError) as info:
        registry.client("fakepsp", settings | {"api_key": 12345678901234})
    assert "12345678901234" not in str(info.value)


def test_provider_missing_declared_capability_is_refused() -> None:
    """A provider object that lacks a declared capability's methods is a configuration error."""
    registry = payplane.Registry(autoload=False)
    registry.register(
        _plugin(_spec(capabilities={Capability.DEPOSITS}, factory=lambda _settings: object())),
        name="liar",
    )
    with pytest.raises(ConfigurationError, match="does not implement DepositProvider"):
        registry.client(
            "other", {"base_url": "https://x", "api_key": "a" * 9, "webhook_secret": "b" * 9}
        )


def test_lazy_paths_are_resolved_on_demand() -> None:
    """'module:attribute' settings and factory are imported only when used."""
    spec = _spec(settings="payplane_fakepsp:FakeSettings", factory="payplane_fakepsp:FakeProvider")
    assert spec.load_settings_class() is payplane_fakepsp.FakeSettings
    assert spec.secret_fields() == ("api_key", "webhook_secret")


def test_bad_provider_id_refused() -> None:
    """Provider ids are lower-case identifiers."""
    with pytest.raises(ConfigurationError):
        _spec(id="Bad-Id")


def test_non_iso_currency_in_spec_refused() -> None:
    """A provider declares ISO 4217 currencies only."""
    with pytest.raises(ConfigurationError, match="BTC"):
        _spec(currencies={"BTC"})
