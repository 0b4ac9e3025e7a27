"""Secrets never print themselves."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payplane_fakepsp import FakeSettings

from payplane import Secret, redact, secret_values
from payplane.exceptions import ValidationError


def test_secret_repr_and_str_hide_value() -> None:
    """repr, str and f-strings show ***."""
    secret = Secret("s3cr3t-value-123")
    assert "s3cr3t" not in repr(secret)
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert secret.reveal() == "s3cr3t-value-123"


def test_secret_values_of_settings() -> None:
    """secret_values lists the revealed values of every Secret field."""
    settings = FakeSettings(
        base_url="https://x",
        api_key=Secret("key-123456789"),
        webhook_secret=Secret("hook-123456789"),
    )
    assert secret_values(settings) == {"key-123456789", "hook-123456789"}
    assert "key-123456789" not in repr(settings)


def test_secret_must_be_text() -> None:
    """A secret setting given as a number is refused, naming the field."""
    with pytest.raises(ValidationError) as info:
        FakeSettings(base_url="https://x", api_key=123, webhook_secret="x")  # type: ignore[arg-type]
    assert info.value.field == "api_key"


@given(st.text(st.characters(blacklist_characters="*"), min_size=1), st.text(), st.text())
def test_redact_removes_every_occurrence(secret: str, before: str, after: str) -> None:
    """No occurrence of the secret survives redaction, raw or percent-encoded."""
    text = f"{before}{secret}{after}?secret={quote(secret, safe='')}"
    redacted = redact(text, [secret])
    assert secret not in redacted
    assert quote(secret, safe="") not in redacted


def test_redact_longest_first() -> None:
    """A secret containing another is hidden whole."""
    assert redact("abcdef", ["abc", "abcdef"]) == "***"
