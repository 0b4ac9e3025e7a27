"""payplane's contract suite run against FakePSP, the core's own plugin API 2 provider.

FakePSP declares every capability: lookups, refunds, a payout flow of two steps (a
beneficiary, then the payout) and a refund flow that looks the deposit up first, so
this run exercises the whole kit, through Client and AsyncClient.
"""

from __future__ import annotations

import payplane_fakepsp
import pytest

import payplane
from payplane.testing import ProviderContract


class TestFakePSPContract(ProviderContract):
    """Every rule of the suite, for what FakePSP declares."""

    provider_id = "fakepsp"

    @pytest.fixture
    def payplane_registry(self) -> payplane.Registry:
        """FakePSP, registered in-process."""
        registry = payplane.Registry(autoload=False)
        registry.register(payplane_fakepsp, name="fakepsp")
        return registry
