"""Entry-point module of the Paykassma Wavepay provider: metadata only, cheap to import.

It imports nothing of the implementation; payplane loads the settings class and the
provider factory from the ``"module:attribute"`` paths below when a client is made.
"""

from __future__ import annotations

from payplane import PLUGIN_API_VERSION, Capability, ProviderSpec
from payplane.hookspecs import hookimpl

__all__ = ["payplane_contract_samples", "payplane_providers"]


@hookimpl
def payplane_providers() -> list[ProviderSpec]:
    """Declare the ``paykassma_wavepay`` provider."""
    return [
        ProviderSpec(
            id="paykassma_wavepay",
            display_name="Paykassma Wavepay",
            capabilities={
                Capability.DEPOSITS,
                Capability.ACTIVATION,
                Capability.WITHDRAWALS,
                Capability.POSTBACKS,
            },
            currencies={"MMK"},
            api_version=PLUGIN_API_VERSION,
            settings="payplane_paykassma_wavepay._settings:WavepaySettings",
            factory="payplane_paykassma_wavepay._provider:WavepayProvider",
        )
    ]


@hookimpl
def payplane_contract_samples(provider: str) -> object:
    """Hand payplane's contract suite the samples of ``paykassma_wavepay`` (lazily)."""
    if provider != "paykassma_wavepay":
        return None
    from payplane_paykassma_wavepay._contract import contract_samples  # noqa: PLC0415

    return contract_samples()
