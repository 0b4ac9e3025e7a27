"""Entry-point module of the Razorpay provider: metadata only, cheap to import.

It imports nothing of the implementation but the currency table (data); payplane loads
the settings class and the provider factory from the ``"module:attribute"`` paths
below when a client is made.
"""

from __future__ import annotations

from payplane import PLUGIN_API_VERSION, Capability, ProviderSpec
from payplane.hookspecs import hookimpl
from payplane_razorpay._currencies import CURRENCIES, PAYOUT_CURRENCIES

__all__ = ["payplane_contract_samples", "payplane_providers"]


@hookimpl
def payplane_providers() -> list[ProviderSpec]:
    """Declare the ``razorpay`` provider."""
    return [
        ProviderSpec(
            id="razorpay",
            display_name="Razorpay",
            capabilities={
                Capability.DEPOSITS,
                Capability.WITHDRAWALS,
                Capability.LOOKUPS,
                Capability.REFUNDS,
                Capability.POSTBACKS,
            },
            currencies=CURRENCIES,
            capability_currencies={Capability.WITHDRAWALS: PAYOUT_CURRENCIES},
            minor_units=True,
            api_version=PLUGIN_API_VERSION,
            settings="payplane_razorpay._settings:RazorpaySettings",
            factory="payplane_razorpay._provider:RazorpayProvider",
        )
    ]


@hookimpl
def payplane_contract_samples(provider: str) -> object:
    """Hand payplane's contract suite the samples of ``razorpay`` (lazily)."""
    if provider != "razorpay":
        return None
    from payplane_razorpay._contract import contract_samples  # noqa: PLC0415

    return contract_samples()
