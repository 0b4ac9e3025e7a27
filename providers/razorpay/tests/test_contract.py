"""payplane's provider contract suite, run against razorpay.

Skipped for now: the contract kit still drives plugin API 1 (``build_*``/``parse_*``)
and replays one recorded answer per request, while razorpay is a plugin API 2 provider
whose payouts and refunds are multi-step flows. Drop the skip once the kit runs flows.
"""

from __future__ import annotations

import pytest

from payplane.testing import ProviderContract

pytestmark = pytest.mark.skip(reason="the contract kit does not drive plugin API 2 flows yet")


class TestContract(ProviderContract):
    """The whole contract suite (see payplane.testing)."""

    provider_id = "razorpay"
