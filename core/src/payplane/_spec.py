"""Provider metadata: what a plugin declares, cheap to import."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from payplane._currencies import ISO_4217_EXPONENTS
from payplane._protocols import Capability
from payplane._secrets import SECRET_METADATA_KEY, Secret, redact
from payplane.exceptions import ConfigurationError, ValidationError

__all__ = [
    "PLUGIN_API_VERSION",
    "SUPPORTED_PLUGIN_API_VERSIONS",
    "PluginDeprecationWarning",
    "ProviderSpec",
]

PLUGIN_API_VERSION = 2
"""The plugin API this payplane speaks; providers written for it declare it.

Version 2 (payplane 0.2): each capability is one method returning a flow; lookups and
refunds; currencies per capability; minor units. Version 1 (build/parse pairs) still
loads, with a :class:`PluginDeprecationWarning`."""

SUPPORTED_PLUGIN_API_VERSIONS = frozenset({1, 2})
"""Every plugin API version this payplane loads; a provider declaring another is skipped."""


class PluginDeprecationWarning(DeprecationWarning):
    """A provider plugin was written for an older plugin API that payplane still loads."""


_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _valid_id(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        msg = f"provider id {value!r} must match {_ID.pattern}"
        raise ConfigurationError(msg, field=attribute.name)


def _capabilities(values: Iterable[Capability | str]) -> frozenset[Capability]:
    return frozenset(Capability(value) for value in values)


def _currencies(values: Iterable[str]) -> frozenset[str]:
    codes = frozenset(values)
    unknown = sorted(code for code in codes if code not in ISO_4217_EXPONENTS)
    if unknown:
        msg = f"not ISO 4217 currency codes: {', '.join(unknown)}"
        raise ConfigurationError(msg, field="currencies")
    return codes


def _capability_currencies(
    values: Mapping[Capability | str, Iterable[str]] | None,
) -> Mapping[Capability, frozenset[str]]:
    table = {Capability(key): _currencies(codes) for key, codes in (values or {}).items()}
    return MappingProxyType(table)


def _resolve(target: str | Callable[..., Any], what: str) -> Any:  # noqa: ANN401
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    if not attr:
        msg = f"{what} must be given as 'module:attribute', not {target!r}"
        raise ConfigurationError(msg, field=what)
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@attrs.frozen(kw_only=True)
class ProviderSpec:
    """What a provider plugin declares about itself.

    ``settings`` and ``factory`` may be ``"module:attribute"`` strings, so listing the
    installed providers imports only the plugin's entry-point module, never its
    implementation.

    Attributes:
        id: Provider id: lower-case letters, digits and ``_`` (``"paykassma_wavepay"``).
        display_name: Human-readable name.
        capabilities: The capabilities it implements.
        currencies: ISO 4217 codes it moves.
        api_version: The payplane plugin API it was written for
            (:data:`~payplane.PLUGIN_API_VERSION`).
        settings: The attrs settings class (secret fields declared with
            :func:`~payplane.secret_field`), or its ``"module:Class"`` path.
        factory: A callable taking a settings instance and returning the provider
            object, or its ``"module:attribute"`` path.
        docs_url: Where its documentation lives, if anywhere.
        capability_currencies: The currencies of capabilities that move fewer than
            ``currencies`` (``{Capability.WITHDRAWALS: {"INR"}}``); a capability not
            listed moves all of ``currencies``. The client refuses a request in another
            currency before building it, naming the field.
        minor_units: Whether the provider's wire counts money in minor units, so every
            amount must fit its currency's ISO 4217 exponent: the client refuses
            ``Money("1.001", "USD")`` before building, naming the field.
    """

    id: str = attrs.field(validator=_valid_id)
    display_name: str
    capabilities: frozenset[Capability] = attrs.field(converter=_capabilities)
    currencies: frozenset[str] = attrs.field(converter=_currencies)
    api_version: int
    settings: str | type = attrs.field(eq=False)
    factory: str | Callable[[Any], object] = attrs.field(eq=False)
    docs_url: str | None = None
    capability_currencies: Mapping[Capability, frozenset[str]] = attrs.field(
        factory=dict, converter=_capability_currencies
    )
    minor_units: bool = False

    def __attrs_post_init__(self) -> None:
        for capability, codes in self.capability_currencies.items():
            if capability not in self.capabilities:
                msg = f"currencies given for {capability.value}, which is not declared"
                raise ConfigurationError(msg, field="capability_currencies")
            if not codes <= self.currencies:
                extra = ", ".join(sorted(codes - self.currencies))
                msg = f"{capability.value} currencies {extra} are not among currencies"
                raise ConfigurationError(msg, field="capability_currencies")

    def currencies_for(self, capability: Capability) -> frozenset[str]:
        """The ISO 4217 codes the provider moves for *capability*."""
        return self.capability_currencies.get(capability, self.currencies)

    def load_settings_class(self) -> type:
        """Import and return the settings class."""
        cls = _resolve(self.settings, "settings")
        if not (isinstance(cls, type) and attrs.has(cls)):
            msg = f"settings of {self.id!r} must be an attrs class"
            raise ConfigurationError(msg, field="settings", provider=self.id)
        return cls

    def load_factory(self) -> Callable[[Any], object]:
        """Import and return the provider factory."""
        factory: Callable[[Any], object] = _resolve(self.factory, "factory")
        return factory

    def secret_fields(self) -> tuple[str, ...]:
        """Names of the settings fields declared with :func:`~payplane.secret_field`."""
        return tuple(
            field.name
            for field in attrs.fields(self.load_settings_class())
            if field.metadata.get(SECRET_METADATA_KEY)
        )

    def make_settings(self, values: object) -> object:
        """Return a settings instance from *values* (an instance, or a mapping of fields).

        Raises:
            ConfigurationError: a missing, unknown or invalid field; names the field and
                never shows a secret value.
        """
        cls = self.load_settings_class()
        if isinstance(values, cls):
            return values
        if not isinstance(values, Mapping):
            msg = f"settings must be a {cls.__name__} or a mapping, not {type(values).__name__}"
            raise ConfigurationError(msg, provider=self.id)
        fields = {field.alias: field for field in attrs.fields(cls)}
        for key in values:
            if key not in fields:
                msg = f"unknown setting {key!r}; known: {', '.join(sorted(fields))}"
                raise ConfigurationError(msg, field=str(key), provider=self.id)
        for name, field in fields.items():
            if name not in values and field.default is attrs.NOTHING:
                msg = f"missing required setting {name!r}"
                raise ConfigurationError(msg, field=name, provider=self.id)
        secret_names = self.secret_fields()
        secrets = [_plain(v) for k, v in values.items() if k in secret_names and v]
        try:
            return cls(**values)
        except ConfigurationError as exc:
            exc.message = redact(exc.message, secrets)
            raise
        except ValidationError as exc:
            message = redact(exc.message, secrets)
            raise ConfigurationError(message, field=exc.field, provider=self.id) from None
        except (TypeError, ValueError) as exc:
            message = redact(str(exc), secrets)
            msg = f"invalid settings: {message}"
            raise ConfigurationError(msg, provider=self.id) from None


def _plain(value: object) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)
