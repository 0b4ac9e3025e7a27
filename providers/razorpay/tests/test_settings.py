"""Settings: Razorpay's names, validation naming the field, secrets never shown."""

from __future__ import annotations

from typing import Any

import pytest

import payplane
from payplane.exceptions import ConfigurationError, ValidationError
from payplane_razorpay import RazorpaySettings


def test_defaults(kit: Any) -> None:
    """Only the keys are required; the rest has Razorpay's defaults."""
    settings = RazorpaySettings(
        key_id=kit.key_id, key_secret=kit.key_secret, webhook_secret=kit.webhook_secret
    )
    assert settings.api_base_url == "https://api.razorpay.com"
    assert settings.payout_account_number is None
    assert (settings.payout_mode, settings.payout_purpose) == ("IMPS", "payout")
    assert settings.queue_if_low_balance is False
    assert settings.max_postback_bytes == 1_048_576


@pytest.mark.parametrize(
    "key_id", ["rzp_test_1DP5mmOlF5G5ag", "rzp_live_ILgsfZCZoFIKMb", "rzp_test_x"]
)
def test_key_id_prefixes_accepted(kit: Any, key_id: str) -> None:
    """Test and live key ids are accepted whatever their length."""
    assert kit.settings(key_id=key_id).key_id == key_id


@pytest.mark.parametrize(
    "key_id",
    ["", "rzp_1DP5mmOlF5G5ag", "rzp_prod_abc", "RZP_TEST_abc", "rzp_test_", "rzp_test_a b"],
)
def test_key_id_shape_refused(kit: Any, key_id: str) -> None:
    """A key id without the rzp_test_/rzp_live_ prefix (or with odd characters) is refused."""
    with pytest.raises(ValidationError) as caught:
        kit.settings(key_id=key_id)
    assert caught.value.field == "key_id"


def test_live_property(kit: Any) -> None:
    """`live` follows the key id's prefix."""
    assert not kit.settings().live
    assert kit.settings(key_id="rzp_live_abc").live


@pytest.mark.parametrize(
    "url",
    [
        "https://api.razorpay.com",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:2",
        "https://proxy.example/razorpay",
    ],
)
def test_base_url_accepted(kit: Any, url: str) -> None:
    """https anywhere, http for loopback hosts (the sandbox)."""
    assert kit.settings(api_base_url=url + "/").api_base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.razorpay.com",
        "ftp://x",
        "https://",
        "https://u:p@api.razorpay.com",
        "https://a/?q=1",
        "not a url",
        "https://a:99999",
    ],
)
def test_base_url_refused(kit: Any, url: str) -> None:
    """Plain http to a remote host, credentials, queries and non-URLs are refused."""
    with pytest.raises(ValidationError) as caught:
        kit.settings(api_base_url=url)
    assert caught.value.field == "api_base_url"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_secret", ""),
        ("webhook_secret", ""),
        ("payout_account_number", "12"),
        ("payout_account_number", "7878-7800"),
        ("payout_mode", "UPI"),
        ("payout_mode", "imps"),
        ("payout_narration", "x" * 31),
        ("payout_narration", "Acme, Inc."),
        ("payout_purpose", ""),
        ("contact_type", "x" * 41),
        ("queue_if_low_balance", "yes"),
        ("notify_sms", 1),
        ("max_postback_bytes", 0),
        ("max_postback_bytes", True),
    ],
)
def test_invalid_field_is_named(kit: Any, field: str, value: object) -> None:
    """Each invalid setting raises a ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        kit.settings(**{field: value})
    assert caught.value.field == field


def test_secrets_hidden_in_repr(kit: Any) -> None:
    """No secret, the previous webhook secret included, shows in the settings' repr."""
    settings = kit.settings(previous_webhook_secret="kit-previous-secret-1")
    text = repr(settings)
    for secret in (kit.key_secret, kit.webhook_secret, "kit-previous-secret-1"):
        assert secret not in text


def test_secret_values_include_previous_webhook_secret(kit: Any) -> None:
    """payplane redacts every Secret field, the optional previous webhook secret too."""
    settings = kit.settings(previous_webhook_secret="kit-previous-secret-1")
    assert payplane.secret_values(settings) == {
        kit.key_secret,
        kit.webhook_secret,
        "kit-previous-secret-1",
    }


def test_webhook_secrets_order(kit: Any) -> None:
    """The current secret comes first; an empty or repeated previous one is dropped."""
    assert kit.settings().webhook_secrets() == (kit.webhook_secret,)
    assert kit.settings(previous_webhook_secret="").webhook_secrets() == (kit.webhook_secret,)
    same = kit.settings(previous_webhook_secret=kit.webhook_secret)
    assert same.webhook_secrets() == (kit.webhook_secret,)
    both = kit.settings(previous_webhook_secret="kit-previous-secret-1")
    assert both.webhook_secrets() == (kit.webhook_secret, "kit-previous-secret-1")


def test_client_reports_bad_settings_without_secret(kit: Any) -> None:
    """A bad setting through payplane.client is a ConfigurationError naming the field."""
    values = kit.settings_values(key_id="pk_live_123")
    with pytest.raises(ConfigurationError) as caught:
        payplane.client("razorpay", values)
    assert caught.value.field == "key_id"
    assert kit.key_secret not in str(caught.value)


def test_declared_secret_fields() -> None:
    """The spec lists the two required secrets (the optional previous one is not declared)."""
    spec = payplane.default_registry().spec("razorpay")
    assert spec.secret_fields() == ("key_secret", "webhook_secret")
