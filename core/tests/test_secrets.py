"""Secrets never print themselves."""

from __future__ import annotations

import copy
import gc
import json
import pickle
from urllib.parse import quote

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from payplane_fakepsp import FakeSettings

import payplane
from payplane import Secret, redact, secret_field, secret_values
from payplane._redaction import LIVE
from payplane.exceptions import ConfigurationError, ValidationError


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


# -- Secret is no attrs class: every serialisation shows *** ----------------------------


def _settings() -> FakeSettings:
    return FakeSettings(
        base_url="https://x", api_key=Secret("key-123456789"), webhook_secret=Secret("hook-1234567")
    )


def test_settings_serialisations_show_no_secret() -> None:
    """attrs.asdict/astuple, cattrs.unstructure and json.dumps(default=str) show ***."""
    settings = _settings()
    as_dict = attrs.asdict(settings)
    texts = [
        repr(as_dict),
        repr(attrs.astuple(settings)),
        repr(cattrs.unstructure(settings)),
        json.dumps(as_dict, default=str),
    ]
    for text in texts:
        assert "key-123456789" not in text
        assert "hook-1234567" not in text
    assert json.loads(texts[3])["api_key"] == "***"


def test_secret_is_not_an_attrs_class() -> None:
    """Secret has no attrs fields for asdict to recurse into."""
    assert not attrs.has(Secret)


def test_secret_pickles_with_its_value() -> None:
    """pickle keeps the value (settings travel to worker processes); copies are itself."""
    secret = Secret("pickled-key-123")
    assert pickle.loads(pickle.dumps(secret)).reveal() == "pickled-key-123"  # noqa: S301
    assert copy.copy(secret) is secret
    assert copy.deepcopy(secret) is secret


def test_secret_is_immutable() -> None:
    """A Secret cannot be changed after it is made."""
    secret = Secret("immutable-key-1")
    with pytest.raises(AttributeError):
        secret._value = "other"
    assert secret.reveal() == "immutable-key-1"


def test_secret_equality_and_hash() -> None:
    """Secrets with equal values are equal and hash alike; a str is not a Secret."""
    assert Secret("same-value-1") == Secret("same-value-1")
    assert Secret("same-value-1") != Secret("other-value-1")
    assert hash(Secret("same-value-1")) == hash(Secret("same-value-1"))
    assert Secret("same-value-1") != "same-value-1"


def test_a_secret_is_known_to_the_process_while_it_lives() -> None:
    """LIVE holds the value of a living Secret and forgets it once collected."""
    secret = Secret("lives-then-dies-42")
    assert "lives-then-dies-42" in LIVE.values()
    del secret
    gc.collect()
    assert "lives-then-dies-42" not in LIVE.values()


# -- secret_field refuses careless values, naming the field -------------------------------

BAD_SECRETS = [
    pytest.param("", "is empty", id="empty"),
    pytest.param("   ", "is only whitespace", id="blank"),
    pytest.param("key-from-a-file\n", "starts or ends with whitespace", id="newline"),
    pytest.param("key-from-a-file\r\n", "starts or ends with whitespace", id="crlf"),
    pytest.param(" leading-space", "starts or ends with whitespace", id="leading"),
    pytest.param("tab\tinside", "control or invisible character", id="tab"),
    pytest.param("zero\u200bwidth", "control or invisible character", id="zero-width"),
    pytest.param("line\u2028sep", "control or invisible character", id="line-separator"),
    pytest.param("nul\x00inside", "control or invisible character", id="nul"),
]


@pytest.mark.parametrize(("value", "problem"), BAD_SECRETS)
def test_careless_secret_refused(value: str, problem: str) -> None:
    """Blank, padded or control-character secrets are refused at construction."""
    with pytest.raises(ValidationError) as info:
        FakeSettings(base_url="https://x", api_key=Secret(value), webhook_secret=Secret("hook"))
    assert info.value.field == "api_key"
    assert problem in info.value.message
    if value.strip():
        assert value.strip() not in info.value.message


@pytest.mark.parametrize("value", [123, b"bytes-key", None, 1.5, ["key"]])
def test_secret_of_the_wrong_type_refused(value: object) -> None:
    """A secret that is not text is refused, naming the field and the type."""
    with pytest.raises(ValidationError) as info:
        FakeSettings(base_url="https://x", api_key=value, webhook_secret=Secret("hook-123"))  # type: ignore[arg-type]
    assert info.value.field == "api_key"
    assert type(value).__name__ in info.value.message


@pytest.mark.parametrize(("value", "problem"), BAD_SECRETS)
def test_make_settings_names_the_careless_secret(
    registry: payplane.Registry, value: str, problem: str
) -> None:
    """Through ProviderSpec.make_settings the refusal is a ConfigurationError naming it."""
    values = {"base_url": "https://x", "api_key": "key-123456", "webhook_secret": value}
    with pytest.raises(ConfigurationError) as info:
        registry.spec("fakepsp").make_settings(values)
    assert info.value.field == "webhook_secret"
    assert problem in str(info.value)


def test_make_settings_names_a_secret_of_the_wrong_type(registry: payplane.Registry) -> None:
    """A number given for a secret is a ConfigurationError naming the field."""
    values = {"base_url": "https://x", "api_key": 12345678, "webhook_secret": "hook-123"}
    with pytest.raises(ConfigurationError) as info:
        registry.spec("fakepsp").make_settings(values)
    assert info.value.field == "api_key"
    assert "12345678" not in str(info.value)


@attrs.frozen
class _Optional:
    token: Secret | None = secret_field(default=None)
    webhook: Secret = secret_field(default="")


def test_optional_secrets_accept_their_default() -> None:
    """default=None accepts None, default="" accepts "" ("not configured")."""
    assert _Optional().token is None
    assert _Optional(token=None, webhook=Secret("")).webhook == Secret("")
    assert _Optional(token=Secret("set-token-1")).token == Secret("set-token-1")


def test_a_plain_string_is_wrapped() -> None:
    """A str given for a secret field becomes a Secret."""
    assert _Optional(webhook="plain-string-1").webhook == Secret("plain-string-1")  # type: ignore[arg-type]


def test_optional_secrets_still_refuse_careless_values() -> None:
    """An optional secret refuses blank and padded values all the same."""
    with pytest.raises(ValidationError) as info:
        _Optional(token=Secret("  "))
    assert info.value.field == "token"
    with pytest.raises(ValidationError):
        _Optional(webhook=Secret("key\n"))


def test_a_validator_given_to_secret_field_runs_after_the_checks() -> None:
    """secret_field(validator=...) keeps the user's validator."""
    seen: list[str] = []

    def record(_instance: object, _attribute: object, value: Secret) -> None:
        seen.append(value.reveal())

    @attrs.frozen
    class Checked:
        key: Secret = secret_field(validator=record)

    Checked(key=Secret("checked-key-1"))
    assert seen == ["checked-key-1"]
    with pytest.raises(ValidationError):
        Checked(key=Secret(""))
    assert seen == ["checked-key-1"]
