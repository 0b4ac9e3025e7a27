"""payplane's provider contract suite, run against razorpay.

Skipped until razorpay's samples take the kit's plugin API 2 form (one recorded answer
per flow step, lookup and refund samples, withdrawal templates with a beneficiary).
"""

from __future__ import annotations

import pytest

from payplane.testing import ProviderContract

pytestmark = pytest.mark.skip(
    reason="razorpay's contract samples are not yet in the kit's flow form"
)


class TestContract(ProviderContract):
    """The whole contract suite (see payplane.testing)."""

    provider_id = "razorpay"
