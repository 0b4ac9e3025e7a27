"""payplane's provider contract suite, run against razorpay.

The samples (payplane_razorpay._contract) give one recorded answer per flow step: the
payout's contact, fund account and payout; a refund's payment read and refund.
"""

from __future__ import annotations

from payplane.testing import ProviderContract


class TestContract(ProviderContract):
    """The whole contract suite (see payplane.testing)."""

    provider_id = "razorpay"
