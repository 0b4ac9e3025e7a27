"""payplane's provider contract suite, run against paykassma_wavepay."""

from __future__ import annotations

from payplane.testing import ProviderContract


class TestContract(ProviderContract):
    """The whole contract suite (see payplane.testing)."""

    provider_id = "paykassma_wavepay"
