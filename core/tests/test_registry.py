"""The plugin registry: registration, errors, block list, version check."""

from __future__ import annotations

import types
import warnings

import httpx
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


# -- plugin API versions ---------------------------------------------------------------


class V1Fake:
    """FakePSP as a plugin API 1 object: ``build_x``/``parse_x`` pairs, no flows."""

    def __init__(self, settings: payplane_fakepsp.FakeSettings) -> None:
        self._impl = payplane_fakepsp.FakeProvider(settings)

    def build_deposit(self, request: payplane.DepositRequest) -> payplane.HttpRequest | None:
        return self._impl.build_deposit(request)

    def parse_deposit(
        self, request: payplane.DepositRequest, response: payplane.HttpResponse | None
    ) -> payplane.DepositStart:
        return self._impl.parse_deposit(request, response)

    def build_withdrawal(self, request: payplane.WithdrawalRequest) -> payplane.HttpRequest:
        return self._impl.build_withdrawal(request)

    def parse_withdrawal(
        self, request: payplane.WithdrawalRequest, response: payplane.HttpResponse
    ) -> payplane.WithdrawalResult:
        return self._impl.parse_withdrawal(request, response)


_SETTINGS = {"base_url": "https://fakepsp.test", "api_key": "a" * 9, "webhook_secret": "b" * 9}
_V1_CAPABILITIES = {Capability.DEPOSITS, Capability.WITHDRAWALS}


def _withdraw(client: payplane.Client) -> payplane.WithdrawalResult:
    request = payplane.WithdrawalRequest(
        customer_id="u1", amount=payplane.Money("5", "USD"), account_number="0123"
    )
    return client.create_withdrawal(request)


def _transport() -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(200, json={"status": "queued"}))


def test_version_1_loads_with_a_deprecation_warning() -> None:
    """A provider declaring plugin API 1 loads, warned, and its build/parse pairs work."""
    registry = payplane.Registry(autoload=False)
    plugin = _plugin(_spec(api_version=1, capabilities=_V1_CAPABILITIES, factory=V1Fake))
    with pytest.warns(payplane.PluginDeprecationWarning, match="plugin API version 1"):
        registry.register(plugin, name="old")
    assert not registry.problems
    with registry.client("other", _SETTINGS, transport=_transport()) as client:
        result = _withdraw(client)
    assert result.status.status is payplane.WithdrawalStatus.PENDING


def test_version_1_cannot_declare_what_it_did_not_have() -> None:
    """Lookups and refunds came with version 2: a version-1 provider declaring one is refused."""
    registry = payplane.Registry(autoload=False)
    capabilities = {*_V1_CAPABILITIES, Capability.LOOKUPS}
    plugin = _plugin(_spec(api_version=1, capabilities=capabilities, factory=V1Fake))
    with pytest.warns(payplane.PluginDeprecationWarning):
        registry.register(plugin, name="old")
    with pytest.raises(ConfigurationError, match="lookups, which plugin API version 1"):
        registry.client("other", _SETTINGS)


def test_version_2_loads_silently() -> None:
    """A version-2 provider loads and runs without any warning."""
    registry = payplane.Registry(autoload=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry.register(payplane_fakepsp, name="fakepsp")
        with registry.client("fakepsp", _SETTINGS, transport=_transport()) as client:
            _withdraw(client)
    assert registry.providers()["fakepsp"].api_version == 2


def test_version_2_declared_by_a_version_1_object_runs_as_version_1() -> None:
    """payplane 0.1's providers declared PLUGIN_API_VERSION, now 2: detected, warned once."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin(_spec(capabilities=_V1_CAPABILITIES, factory=V1Fake)), name="o")
    with pytest.warns(payplane.PluginDeprecationWarning, match="implements version 1") as seen:
        first = registry.client("other", _SETTINGS, transport=_transport())
    assert len(seen) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = registry.client("other", _SETTINGS, transport=_transport())
    for client in (first, second):
        with client:
            assert _withdraw(client).reference


def test_a_half_migrated_object_is_refused() -> None:
    """Declaring version 2 with one capability as a flow and another as build/parse: refused."""

    class Half(V1Fake):
        def start_deposit(self, request: payplane.DepositRequest) -> payplane.Flow[object]:
            yield from ()
            return self._impl.parse_deposit(request, None)

    registry = payplane.Registry(autoload=False)
    registry.register(_plugin(_spec(capabilities=_V1_CAPABILITIES, factory=Half)), name="half")
    with pytest.raises(ConfigurationError, match="does not implement WithdrawalProvider"):
        registry.client("other", _SETTINGS)


def test_version_3_is_skipped_with_the_reason() -> None:
    """A provider for a plugin API this payplane does not know is skipped, saying which it knows."""
    registry = payplane.Registry(autoload=False)
    with pytest.warns(payplane.PluginLoadWarning):
        registry.register(_plugin(_spec(api_version=3)), name="future")
    (problem,) = registry.problems
    assert problem.reason == (
        "provider 'other' declares plugin API version 3; this payplane supports versions 1, 2"
    )
    assert "other" not in registry.providers()


def test_supported_versions_are_published() -> None:
    """SUPPORTED_PLUGIN_API_VERSIONS holds the current version and version 1."""
    assert frozenset({1, payplane.PLUGIN_API_VERSION}) == payplane.SUPPORTED_PLUGIN_API_VERSIONS
    assert issubclass(payplane.PluginDeprecationWarning, DeprecationWarning)
