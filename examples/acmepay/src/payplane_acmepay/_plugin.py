"""Entry-point module of the AcmePay provider: metadata and hooks only, cheap to import."""

from __future__ import annotations

from payplane import PLUGIN_API_VERSION, Capability, ProviderSpec
from payplane.hookspecs import hookimpl

__all__ = ["payplane_contract_samples", "payplane_providers"]

PROVIDER_ID = "acmepay"


@hookimpl
def payplane_providers() -> list[ProviderSpec]:
    """Declare the ``acmepay`` provider: its wire counts money in minor units."""
    return [
        ProviderSpec(
            id=PROVIDER_ID,
            display_name="AcmePay",
            capabilities={
                Capability.DEPOSITS,
                Capability.LOOKUPS,
                Capability.REFUNDS,
                Capability.POSTBACKS,
            },
            currencies={"EUR", "JPY", "KWD", "USD"},
            api_version=PLUGIN_API_VERSION,
            settings="payplane_acmepay._provider:AcmeSettings",
            factory="payplane_acmepay._provider:AcmeProvider",
            minor_units=True,
        )
    ]


@hookimpl
def payplane_contract_samples(provider: str) -> object:
    """Hand payplane's contract suite AcmePay's samples (imported only when asked)."""
    if provider != PROVIDER_ID:
        return None
    from payplane_acmepay._samples import contract_samples  # noqa: PLC0415

    return contract_samples()
