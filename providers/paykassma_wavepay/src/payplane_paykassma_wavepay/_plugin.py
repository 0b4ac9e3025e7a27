"""Entry-point module of the Paykassma Wavepay provider: metadata only, cheap to import.

It imports nothing of the implementation; payplane loads the settings class and the
provider factory from the ``"module:attribute"`` paths below when a client is made.
"""

from __future__ import annotations

from payplane import PLUGIN_API_VERSION, Capability, ProviderSpec
from payplane.hookspecs import hookimpl

__all__ = ["payplane_providers"]


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
