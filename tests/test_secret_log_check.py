"""The suite-wide secret check itself catches leaks (it guards every other test)."""

from __future__ import annotations

import logging

import httpx
from payplane_logcheck import (
    CONFIGURED_SECRETS,
    ESCAPED_ERRORS,
    HOOK_PAYLOADS,
    checked_secrets,
    escaped,
    leaking_errors,
    leaking_hooks,
    leaking_loggers,
)

import payplane
from payplane.exceptions import MalformedPayloadError, ProviderDeclinedError
from payplane.hookspecs import hookimpl


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_configured_secrets_are_recorded() -> None:
    """Creating a Secret registers its value with the check."""
    payplane.Secret("recorded-by-the-check-42")
    assert "recorded-by-the-check-42" in CONFIGURED_SECRETS


def test_living_secrets_are_checked() -> None:
    """A Secret made before the test (a session fixture's) is checked while it lives."""
    secret = payplane.Secret("alive-across-tests-1")
    CONFIGURED_SECRETS.clear()
    assert "alive-across-tests-1" in checked_secrets()
    del secret


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


def _escaped_error(error: Exception, cause: BaseException | None = None) -> Exception:
    try:
        raise error from cause  # noqa: TRY301 - to give it a traceback
    except Exception as exc:  # noqa: BLE001 - caught here, in a test module: "escaped"
        return exc


def test_an_escaped_error_showing_a_secret_is_found() -> None:
    """An error raised to a test that shows a secret in any view is reported."""
    try:
        in_args = _escaped_error(ProviderDeclinedError("no", field_errors={"f": ["leaky-1234"]}))
        in_cause = _escaped_error(
            MalformedPayloadError("bad answer"),
            httpx.ReadTimeout("t", request=httpx.Request("GET", "https://x/?k=leaky-1234")),
        )
        clean = _escaped_error(ProviderDeclinedError("no"))
        errors = [in_args, in_cause, clean]
        found = leaking_errors(errors, {"leaky-1234"})  # type: ignore[arg-type]
        assert found == [
            "MalformedPayloadError: bad answer",
            "ProviderDeclinedError: declined by the provider: no",
        ]
    finally:
        ESCAPED_ERRORS.clear()  # the errors above leak on purpose


def test_an_error_caught_inside_payplane_is_not_reported() -> None:
    """An error never raised, or caught by payplane itself, reached no one."""
    never_raised = ProviderDeclinedError("leaky-1234")
    assert not escaped(never_raised)
    assert leaking_errors([never_raised], {"leaky-1234"}) == []
    ESCAPED_ERRORS.clear()


def test_a_hook_payload_showing_a_secret_is_found() -> None:
    """Payloads handed to hook implementations are recorded and searched."""

    class Observer:
        @hookimpl
        def payplane_request_sent(self, provider: str, request: payplane.HttpRequest) -> None:
            pass

    registry = payplane.Registry(autoload=False)
    registry.register(Observer(), name="observer")
    request = payplane.HttpRequest(operation="x", method="GET", url="https://x/?k=leaky-1234")
    registry.plugin_manager.hook.payplane_request_sent(provider="p", request=request, attempt=1)
    registry.plugin_manager.hook.payplane_response_received(
        provider="p", request=request, response=None, elapsed=0.0, attempt=1
    )
    try:
        assert [name for name, _ in HOOK_PAYLOADS] == ["payplane_request_sent"]
        assert leaking_hooks(HOOK_PAYLOADS, {"leaky-1234"}) == ["payplane_request_sent"]
    finally:
        HOOK_PAYLOADS.clear()
