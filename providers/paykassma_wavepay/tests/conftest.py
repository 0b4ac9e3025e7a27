"""Fixtures of the Paykassma Wavepay provider's tests: data files, settings, providers.

Tests run with ``--import-mode=importlib``, so test modules cannot import this one;
helpers reach them through the session-scoped :func:`kit` fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from payplane_paykassma_wavepay import WavepayProvider, WavepaySettings, postback_signature


class Kit:
    """Test helpers: data files, PHP-style JSON, signed postback bodies, settings."""

    data = Path(__file__).parent / "data"
    # Made-up keys, 8 characters or more so the root conftest's log check can see them.
    pluginapi_secret = "plugin-api-secret-1"
    withdrawal_key = "withdrawal-private-key-1"
    access_key = "test-access-key"  # the vectors' keys; they sign the seed postbacks too
    private_key = "test-private-key"

    def load(self, name: str) -> Any:
        """Return the parsed JSON data file *name* (without ``.json``)."""
        return json.loads((self.data / f"{name}.json").read_text(encoding="utf-8"))

    @staticmethod
    def php_json(value: object) -> str:
        """Serialise as PHP's json_encode(JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)."""
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def signed_body(
        self,
        postback: dict[str, Any],
        *,
        access_key: str | None = None,
        private_key: str | None = None,
        member: str = "additional_data",
    ) -> bytes:
        """Return *postback* as a compact PHP-style body, signed with the given keys."""
        access_key = self.access_key if access_key is None else access_key
        private_key = self.private_key if private_key is None else private_key
        body = dict(postback)
        body["access_key"] = access_key
        body["signature"] = postback_signature(access_key, private_key, self.php_json(body[member]))
        return self.php_json(body).encode()

    def settings_values(self, **overrides: object) -> dict[str, Any]:
        """Return a settings mapping with made-up keys; *overrides* replace fields."""
        values: dict[str, Any] = {
            "api_host": "https://api.example.com",
            "pluginapi_secret": self.pluginapi_secret,
            "withdrawal_private_key": self.withdrawal_key,
            "postback_access_key": self.access_key,
            "postback_private_key": self.private_key,
            "plugin_host": "https://plugin.example.com",
        }
        values.update(overrides)
        return values

    def settings(self, **overrides: object) -> WavepaySettings:
        """Return settings with made-up keys; *overrides* replace fields."""
        return WavepaySettings(**self.settings_values(**overrides))

    def provider(self, **overrides: object) -> WavepayProvider:
        """Return a provider over :meth:`settings`."""
        return WavepayProvider(self.settings(**overrides))


@pytest.fixture(scope="session")
def kit() -> Kit:
    """The test helpers."""
    return Kit()


@pytest.fixture(scope="session")
def vectors(kit: Kit) -> dict[str, Any]:
    """The signature vectors (a copy of ../shared/vectors/paykassma.json)."""
    data: dict[str, Any] = kit.load("paykassma_vectors")
    return data


@pytest.fixture
def settings(kit: Kit) -> WavepaySettings:
    """Settings with made-up keys."""
    return kit.settings()


@pytest.fixture
def provider(kit: Kit) -> WavepayProvider:
    """A provider with made-up keys."""
    return kit.provider()
