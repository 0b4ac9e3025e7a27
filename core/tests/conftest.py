"""Fixtures for the core's tests: a registry holding FakePSP, and its settings."""

from __future__ import annotations

import payplane_fakepsp
import pytest

import payplane


@pytest.fixture
def settings() -> dict[str, object]:
    """FakePSP settings as a mapping."""
    return {
        "base_url": "https://fakepsp.test",
        "api_key": payplane_fakepsp.TEST_API_KEY,
        "webhook_secret": payplane_fakepsp.TEST_WEBHOOK_SECRET,
    }


@pytest.fixture
def registry() -> payplane.Registry:
    """A registry with autoload off and FakePSP registered in-process."""
    registry = payplane.Registry(autoload=False)
    registry.register(payplane_fakepsp, name="fakepsp")
    return registry
