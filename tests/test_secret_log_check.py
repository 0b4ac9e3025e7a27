"""The suite-wide secret check itself catches leaks (it guards every other test)."""

from __future__ import annotations

import logging

from payplane_logcheck import CONFIGURED_SECRETS, leaking_loggers

import payplane


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_configured_secrets_are_recorded() -> None:
    """Creating a Secret registers its value with the check."""
    payplane.Secret("recorded-by-the-check-42")
    assert "recorded-by-the-check-42" in CONFIGURED_SECRETS


def test_leak_in_message_arguments_is_found() -> None:
    """A secret passed as a %-argument is found in the formatted message."""
    leaky = _record("httpx", "GET %s", "https://x/?secret=topsecret-value")
    records = [leaky, _record("ok", "fine")]
    assert leaking_loggers(records, {"topsecret-value"}) == ["httpx"]


def test_leak_in_extra_attribute_is_found() -> None:
    """A secret in an `extra=` attribute is found too."""
    record = _record("app", "hello")
    record.api_key = "topsecret-value"
    assert leaking_loggers([record], {"topsecret-value"}) == ["app"]


def test_clean_records_pass() -> None:
    """No secret, no finding."""
    assert leaking_loggers([_record("app", "secret=***")], {"topsecret-value"}) == []
