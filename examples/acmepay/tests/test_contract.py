"""payplane's contract suite, run against AcmePay (install it first: pip install -e .)."""

from __future__ import annotations

from payplane.testing import ProviderContract


class TestContract(ProviderContract):
    """Every rule of the suite, for what AcmePay declares."""

    provider_id = "acmepay"
