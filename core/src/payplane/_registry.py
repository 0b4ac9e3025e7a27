"""The plugin registry: finds providers through entry points, with pluggy."""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast

import attrs
import pluggy

from payplane import hookspecs
from payplane._protocols import V1_PROTOCOLS, Capability, adapt_v1
from payplane._spec import (
    PLUGIN_API_VERSION,
    SUPPORTED_PLUGIN_API_VERSIONS,
    PluginDeprecationWarning,
    ProviderSpec,
)
from payplane.exceptions import (
    ConfigurationError,
    PluginLoadError,
    UnknownProviderError,
    UnsupportedCapabilityError,
)

if TYPE_CHECKING:
    from payplane._client import AsyncClient, Client

__all__ = [
    "BLOCK_ENV",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "LoadProblem",
    "PluginLoadWarning",
    "Registry",
    "default_registry",
]

ENTRY_POINT_GROUP = "payplane.providers"
DISABLE_AUTOLOAD_ENV = "PAYPLANE_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "PAYPLANE_BLOCK_PROVIDERS"


class PluginLoadWarning(UserWarning):
    """A provider plugin was skipped; :attr:`Registry.problems` keeps the reason."""


@attrs.frozen
class LoadProblem:
    """Why a provider plugin was skipped.

    Attributes:
        name: The entry point's name, or the provider id.
        distribution: The distribution that declared it, ``"name version"``, if known.
        reason: What went wrong.
    """

    name: str
    distribution: str | None
    reason: str


def _env_blocked() -> frozenset[str]:
    raw = os.environ.get(BLOCK_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


class Registry:
    """The installed providers, found through the ``payplane.providers`` entry points.

    Loading is lazy (first use) and happens once. A provider written for an older plugin
    API that payplane still supports loads with a
    :class:`~payplane.PluginDeprecationWarning`. A plugin that fails to import, declares
    a plugin API payplane does not support, implements an unknown
    hook or repeats a provider id is skipped with a :class:`PluginLoadWarning`, or raises
    :class:`~payplane.exceptions.PluginLoadError` when *strict*; :attr:`problems` keeps
    the reasons either way.

    Args:
        autoload: Load entry points. Default: yes, unless the environment variable
            ``PAYPLANE_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty value.
        blocked: Entry-point names or provider ids never to load, in addition to the
            comma-separated ``PAYPLANE_BLOCK_PROVIDERS``.
        strict: Raise instead of warning when a plugin cannot be loaded.
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        blocked: Iterable[str] = (),
        strict: bool = False,
    ) -> None:
        if autoload is None:
            autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
        self.autoload = autoload
        self.blocked = frozenset(blocked) | _env_blocked()
        self.strict = strict
        self.plugin_manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.plugin_manager.add_hookspecs(hookspecs)
        self._specs: dict[str, ProviderSpec] = {}
        self._problems: list[LoadProblem] = []
        self._loaded = False
        self._lock = threading.RLock()
        self._warned_v1: set[str] = set()

    # -- loading -----------------------------------------------------------------

    def _problem(self, name: str, distribution: str | None, reason: str) -> None:
        if self.strict:
            raise PluginLoadError(name, reason)
        self._problems.append(LoadProblem(name, distribution, reason))
        warnings.warn(
            f"payplane provider plugin {name!r} skipped: {reason}",
            PluginLoadWarning,
            stacklevel=4,
        )

    def load(self) -> None:
        """Load the entry points (unless autoload is off) and collect provider specs.

        Idempotent; every public method calls it.
        """
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self.autoload:
                for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                    self._load_entry_point(entry_point)
            self._collect()

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        dist = entry_point.dist
        dist_name = f"{dist.name} {dist.version}" if dist is not None else None
        if entry_point.name in self.blocked or self.plugin_manager.is_blocked(entry_point.name):
            return
        if self.plugin_manager.has_plugin(entry_point.name):
            return
        try:
            module = importlib.import_module(entry_point.value.partition(":")[0])
            plugin: Any = entry_point.load() if ":" in entry_point.value else module
        except Exception as exc:  # noqa: BLE001 - any import failure is a load problem
            self._problem(entry_point.name, dist_name, f"import failed: {exc!r}")
            return
        self._register(plugin, entry_point.name, dist_name)

    def _register(self, plugin: object, name: str, dist_name: str | None) -> bool:
        try:
            self.plugin_manager.register(plugin, name=name)
        except ValueError as exc:
            self._problem(name, dist_name, str(exc))
            return False
        except pluggy.PluginValidationError as exc:
            self._problem(name, dist_name, f"invalid hook implementation: {exc}")
            return False
        try:
            self.plugin_manager.check_pending()
        except pluggy.PluginValidationError as exc:
            self.plugin_manager.unregister(plugin)
            self._problem(name, dist_name, f"implements an unknown hook: {exc}")
            return False
        return True

    def _collect(self) -> None:
        for impl in self.plugin_manager.hook.payplane_providers.get_hookimpls():
            try:
                specs = list(cast("Iterable[object]", impl.function()))
            except Exception as exc:  # noqa: BLE001 - a broken plugin is a load problem
                self._problem(impl.plugin_name, None, f"payplane_providers() raised {exc!r}")
                continue
            for spec in specs:
                self._accept(impl.plugin_name, spec)

    def _accept(self, plugin_name: str, spec: object) -> None:
        if not isinstance(spec, ProviderSpec):
            self._problem(plugin_name, None, f"returned {type(spec).__name__}, not ProviderSpec")
            return
        if spec.id in self.blocked:
            return
        if spec.api_version not in SUPPORTED_PLUGIN_API_VERSIONS:
            supported = ", ".join(map(str, sorted(SUPPORTED_PLUGIN_API_VERSIONS)))
            reason = (
                f"provider {spec.id!r} declares plugin API version {spec.api_version}; "
                f"this payplane supports versions {supported}"
            )
            self._problem(plugin_name, None, reason)
            return
        if spec.api_version != PLUGIN_API_VERSION:
            warnings.warn(
                f"provider {spec.id!r} is written for payplane plugin API version "
                f"{spec.api_version}; it works, but version {PLUGIN_API_VERSION} is current: "
                "see the migration notes in payplane's write-a-provider guide",
                PluginDeprecationWarning,
                stacklevel=4,
            )
        if spec.id in self._specs:
            self._problem(plugin_name, None, f"provider id {spec.id!r} is already registered")
            return
        self._specs[spec.id] = spec

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register an in-process *plugin* (a module or object with hook implementations).

        For applications and tests that define a provider without a distribution.
        """
        with self._lock:
            self.load()
            plugin_name = name or self.plugin_manager.get_canonical_name(plugin)
            before = {
                id(impl) for impl in self.plugin_manager.hook.payplane_providers.get_hookimpls()
            }
            if not self._register(plugin, plugin_name, None):
                return
            for impl in self.plugin_manager.hook.payplane_providers.get_hookimpls():
                if id(impl) not in before:
                    for spec in cast("Iterable[object]", impl.function()):
                        self._accept(impl.plugin_name, spec)

    # -- queries -----------------------------------------------------------------

    @property
    def problems(self) -> tuple[LoadProblem, ...]:
        """The plugins skipped so far, and why."""
        self.load()
        return tuple(self._problems)

    def providers(self) -> Mapping[str, ProviderSpec]:
        """The loaded providers by id (sorted), without importing their implementations."""
        self.load()
        return {key: self._specs[key] for key in sorted(self._specs)}

    def spec(self, provider: str) -> ProviderSpec:
        """Return the spec of *provider*.

        Raises:
            UnknownProviderError: no such provider; the error lists the installed ones.
        """
        self.load()
        try:
            return self._specs[provider]
        except KeyError:
            raise UnknownProviderError(provider, list(self._specs)) from None

    def create_provider(
        self, provider: str, settings: object
    ) -> tuple[ProviderSpec, object, object]:
        """Instantiate *provider* with *settings*; return ``(spec, settings, provider object)``.

        Raises:
            UnknownProviderError: no such provider.
            ConfigurationError: invalid settings (names the field), or a provider object
                missing a capability it declares.
        """
        spec = self.spec(provider)
        settings_obj = spec.make_settings(settings)
        instance = spec.load_factory()(settings_obj)
        v1 = spec.api_version == 1 or self._implements_v1(spec, instance)
        for capability in spec.capabilities:
            protocol = V1_PROTOCOLS.get(capability) if v1 else capability.protocol
            if protocol is None:
                msg = (
                    f"provider {provider!r} declares {capability.value}, which plugin API "
                    "version 1 does not have"
                )
                raise ConfigurationError(msg, provider=provider)
            if not isinstance(instance, protocol):
                msg = (
                    f"provider {provider!r} declares {capability.value} but its object "
                    f"does not implement {protocol.__name__}"
                )
                raise ConfigurationError(msg, provider=provider)
        return spec, settings_obj, adapt_v1(instance) if v1 else instance

    def _implements_v1(self, spec: ProviderSpec, instance: object) -> bool:
        """Whether a provider declaring version 2 is a version-1 object (warned once).

        payplane 0.1's providers declared ``api_version=PLUGIN_API_VERSION``, which now
        reads 2: one whose object has version 1's ``build_x``/``parse_x`` methods and none
        of version 2's flow methods is run as the version-1 provider it is.
        """
        requesting = [
            c for c in spec.capabilities if V1_PROTOCOLS.get(c, c.protocol) is not c.protocol
        ]
        if not requesting or not all(
            isinstance(instance, V1_PROTOCOLS[c]) and not isinstance(instance, c.protocol)
            for c in requesting
        ):
            return False
        if spec.id not in self._warned_v1:
            self._warned_v1.add(spec.id)
            warnings.warn(
                f"provider {spec.id!r} declares plugin API version {spec.api_version} but "
                "implements version 1 (build_*/parse_* methods): it runs as a version-1 "
                "provider; see the migration notes in payplane's write-a-provider guide",
                PluginDeprecationWarning,
                stacklevel=3,
            )
        return True

    def client(self, provider: str, settings: object, **kwargs: Any) -> Client:  # noqa: ANN401
        """Return a sync :class:`~payplane.Client` for *provider*; see :func:`payplane.client`.

        Raises:
            ConfigurationError: an unknown option among *kwargs* (named), or an option
                of the wrong type; see :class:`~payplane.Client`.
        """
        from payplane._client import Client  # noqa: PLC0415 - the registry loads before httpx

        _check_client_options(kwargs)
        spec, settings_obj, instance = self.create_provider(provider, settings)
        return Client(spec, settings_obj, instance, hooks=self.plugin_manager.hook, **kwargs)

    def async_client(self, provider: str, settings: object, **kwargs: Any) -> AsyncClient:  # noqa: ANN401
        """Return an :class:`~payplane.AsyncClient`; see :func:`payplane.async_client`."""
        from payplane._client import AsyncClient  # noqa: PLC0415

        _check_client_options(kwargs)
        spec, settings_obj, instance = self.create_provider(provider, settings)
        return AsyncClient(spec, settings_obj, instance, hooks=self.plugin_manager.hook, **kwargs)


_CLIENT_OPTIONS = ("http_client", "retry", "timeout", "transport")


def _check_client_options(options: Mapping[str, object]) -> None:
    unknown = sorted(set(options) - set(_CLIENT_OPTIONS))
    if unknown:
        msg = (
            f"unknown client option(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(_CLIENT_OPTIONS)}"
        )
        raise ConfigurationError(msg, field=unknown[0])


def require(spec: ProviderSpec, instance: object, capability: Capability) -> Any:  # noqa: ANN401
    """Return *instance* as the protocol of *capability*, or raise if it is not declared."""
    if capability not in spec.capabilities:
        raise UnsupportedCapabilityError(spec.id, capability.value)
    return instance


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """Return the process-wide registry, created (and loaded) on first use."""
    global _default  # noqa: PLW0603 - one lazily created registry per process
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default
