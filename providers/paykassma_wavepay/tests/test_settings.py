"""Settings validation."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest

from payplane.exceptions import ValidationError


@pytest.mark.parametrize(
    "host",
    [
        "https://api.example.com",
        "https://api.example.com/",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_accepted_hosts(kit: Any, host: str) -> None:
    """https hosts, and http to a loopback host, are accepted; a trailing / is dropped."""
    settings = kit.settings(api_host=host, plugin_host=host)
    assert settings.api_host == host.rstrip("/")


@pytest.mark.parametrize(
    "host",
    [
        "http://api.example.com",
        "ftp://api.example.com",
        "api.example.com",
        "https://",
        "https://user:pw@api.example.com",
        "https://api.example.com/?x=1",
        "http://127.0.0.2",
    ],
)
@pytest.mark.parametrize("field", ["api_host", "plugin_host"])
def test_refused_hosts(kit: Any, host: str, field: str) -> None:
    """Anything but https (or http to loopback) is refused, naming the field."""
    with pytest.raises(ValidationError) as info:
        kit.settings(**{field: host})
    assert info.value.field == field
    assert info.value.limit is not None


def test_repr_hides_secrets(kit: Any) -> None:
    """No key appears in the settings' repr."""
    text = repr(kit.settings())
    for secret in (kit.pluginapi_secret, kit.withdrawal_key, kit.access_key, kit.private_key):
        assert secret not in text


def test_defaults(kit: Any) -> None:
    """Language en, zone +08:00, 1 MiB postbacks."""
    settings = kit.settings()
    assert settings.default_language == "en"
    assert settings.postback_timezone == timezone(timedelta(hours=8))
    assert settings.max_postback_bytes == 1048576


@pytest.mark.parametrize(
    ("text", "offset"),
    [("+08:00", timedelta(hours=8)), ("-05:30", -timedelta(hours=5, minutes=30))],
)
def test_timezone_from_offset_text(kit: Any, text: str, offset: timedelta) -> None:
    """An offset string becomes a fixed zone."""
    assert kit.settings(postback_timezone=text).postback_timezone == timezone(offset)


def test_timezone_from_name(kit: Any) -> None:
    """UTC and IANA names are accepted."""
    assert kit.settings(postback_timezone="UTC").postback_timezone == UTC
    zone = kit.settings(postback_timezone="Asia/Yangon").postback_timezone
    assert str(zone) == "Asia/Yangon"


@pytest.mark.parametrize("text", ["8", "+25:00", "+08:61", "Mars/Base", ""])
def test_bad_timezone(kit: Any, text: str) -> None:
    """Other zone text is refused, naming the field."""
    with pytest.raises(ValidationError) as info:
        kit.settings(postback_timezone=text)
    assert info.value.field == "postback_timezone"


def test_bad_language(kit: Any) -> None:
    """Only en and my."""
    with pytest.raises(ValidationError) as info:
        kit.settings(default_language="fr")
    assert info.value.field == "default_language"


@pytest.mark.parametrize("value", [0, -1, True, "10"])
def test_bad_max_bytes(kit: Any, value: object) -> None:
    """The size limit is a positive integer."""
    with pytest.raises(ValidationError) as info:
        kit.settings(max_postback_bytes=value)
    assert info.value.field == "max_postback_bytes"


def test_empty_secret(kit: Any) -> None:
    """An empty key is refused."""
    with pytest.raises(ValidationError) as info:
        kit.settings(postback_private_key="")
    assert info.value.field == "postback_private_key"
