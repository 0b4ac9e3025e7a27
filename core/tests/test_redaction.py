"""The one redaction mechanism: every form of a secret, nested values, errors, log records."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from urllib.parse import quote, quote_plus

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from payplane_oracle import revealed

import payplane
from payplane._redaction import (
    Redactor,
    _install_record_factory,
    is_sensitive_header,
    redact_exception,
    redact_headers,
)
from payplane.exceptions import (
    MalformedPayloadError,
    ProviderDeclinedError,
    RedactedCause,
    UnknownOutcomeError,
)
from payplane.testing import captured_log_records, log_record_texts

SECRET = 'a/b "é😀%+ c'
FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote with /": quote,
    "quote_plus": quote_plus,
    "quote twice": lambda s: quote(quote(s, safe=""), safe=""),
    "lower-case hex": lambda s: quote(s, safe="").lower(),
    "json ascii": json.dumps,
    "json utf-8": lambda s: json.dumps(s, ensure_ascii=False),
    "json slashes": lambda s: json.dumps(s).replace("/", "\\/"),
    "json in json": lambda s: json.dumps(json.dumps(s)),
    "json every char": lambda s: "".join(
        "".join(
            f"\\u{int.from_bytes(c.encode('utf-16-be')[i : i + 2], 'big'):04X}"
            for i in range(0, len(c.encode("utf-16-be")), 2)
        )
        for c in s
    ),
    "repr": repr,
    "bytes repr": lambda s: repr(s.encode()),
    "percent in json": lambda s: json.dumps({"url": f"https://x/?k={quote(s, safe='')}"}),
    "json in a url": lambda s: quote(json.dumps(s), safe=""),
    "basic": lambda s: base64.b64encode(f"key-id:{s}".encode()).decode(),
    "basic, one more": lambda s: base64.b64encode(f"id-1:{s}".encode()).decode(),
    "basic, two more": lambda s: base64.b64encode(f"id-12:{s}".encode()).decode(),
    "urlsafe base64": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64, slash escaped": lambda s: json.dumps(base64.b64encode(s.encode()).decode()).replace(
        "/", "\\/"
    ),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_is_redacted(form: str) -> None:
    """Each form of a secret, inside other text, is found and hidden."""
    redactor = Redactor([SECRET])
    text = f"before <{FORMS[form](SECRET)}> after"
    assert revealed(SECRET, text)
    assert redactor.found_in(text)
    assert redactor.found_in(text.encode())
    redacted = redactor(text)
    assert not revealed(SECRET, redacted)
    assert redacted.startswith("before <")
    assert redacted.endswith("> after")


def test_text_without_a_secret_is_returned_as_is() -> None:
    """No secret, no change: the very same object comes back."""
    redactor = Redactor([SECRET])
    text = "nothing here: 100% \\ plain"
    assert redactor(text) is text
    assert not redactor.found_in(text)


def test_an_empty_redactor_changes_nothing() -> None:
    """No secrets (or only empty ones): every text passes unchanged."""
    redactor = Redactor(["", ""])
    assert not redactor
    assert redactor("x") == "x"
    assert not redactor.found_in(b"x")


def test_overlapping_secrets_are_hidden_whole() -> None:
    """Secrets that overlap or contain one another leave no character of either."""
    assert Redactor(["xab", "abc"])("-xabc-") == "-***-"
    assert Redactor(["abc", "abcdef"])("abcdef abc") == "*** ***"


_CHARS = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    include_characters="/\\\"'%+&= é😀",
    exclude_characters="*",
)


@given(
    secret=st.text(_CHARS, min_size=1, max_size=16),
    form=st.sampled_from([name for name in FORMS if "base" not in name and "basic" not in name]),
    before=st.text(_CHARS, max_size=8),
    after=st.text(_CHARS, max_size=8),
)
def test_no_form_survives(secret: str, form: str, before: str, after: str) -> None:
    """Whatever the secret holds, none of its forms survives redaction, amid any text."""
    assume(not revealed(secret, before + after))
    text = f"{before}{FORMS[form](secret)}{after}"
    assert not revealed(secret, Redactor([secret])(text))


@given(
    secret=st.text(_CHARS, min_size=7, max_size=16),
    key_id=st.text(st.characters(codec="ascii", categories=("L", "N")), max_size=5),
)
def test_basic_credentials_never_survive(secret: str, key_id: str) -> None:
    """base64(key_id:secret) is hidden whatever the key id's length (three alignments)."""
    assume(len(secret.encode()) >= 7)
    token = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    redacted = Redactor([secret])(f"Authorization: Basic {token}")
    assert redacted == "Authorization: Basic ***"


@given(
    first=st.text(_CHARS, min_size=2, max_size=12),
    start=st.integers(0, 11),
    size=st.integers(1, 12),
    form=st.sampled_from(["raw", "json ascii", "quote", "json every char"]),
)
def test_a_secret_inside_another_never_survives(
    first: str, start: int, size: int, form: str
) -> None:
    """With one secret a substring of the other, neither survives in any form."""
    second = first[start : start + size]
    assume(second)
    text = f"<{FORMS[form](first)}|{FORMS[form](second)}>"
    redacted = Redactor([first, second])(text)
    assert not revealed(first, redacted)
    assert not revealed(second, redacted)


def test_hostile_runs_cost_linear_time() -> None:
    """A megabyte of backslashes or percent signs is scanned, not backtracked over."""
    redactor = Redactor(["secret-value-1"])
    for text in ("\\" * 500_000, "%25" * 200_000, "\\u00" * 200_000):
        assert redactor(text) == text


# -- nested values ----------------------------------------------------------------------


@attrs.frozen
class _Result:
    message: str
    raw: MappingProxyType[str, object]
    count: int = 1


def test_nested_values_are_redacted_keys_included() -> None:
    """Strings in mappings (keys too), lists, tuples, bytes and attrs fields are redacted."""
    redactor = Redactor(["nested-key-1"])
    value = _Result(
        message="got nested-key-1",
        raw=MappingProxyType({"nested-key-1": ["x", ("nested-key-1", 2)], "b": b"nested-key-1"}),
    )
    redacted = redactor.redact_value(value)
    assert redacted.message == "got ***"
    assert dict(redacted.raw) == {"***": ["x", ("***", 2)], "b": b"***"}
    assert isinstance(redacted.raw, MappingProxyType)
    assert redacted.count == 1


def test_unchanged_values_keep_their_identity() -> None:
    """Nothing to redact: the very same object comes back (no copy on the hot path)."""
    value = {"a": ["b", {"c": "d"}]}
    assert Redactor(["nested-key-1"]).redact_value(value) is value


def test_deep_values_do_not_hit_the_recursion_limit() -> None:
    """A value nested far deeper than the recursion limit is walked all the same."""
    deep: object = "deep-key-1"
    for _ in range(10_000):
        deep = [deep]
    redacted = Redactor(["deep-key-1"]).redact_value(deep)
    for _ in range(10_000):
        assert isinstance(redacted, list)
        redacted = redacted[0]
    assert redacted == "***"


# -- errors -----------------------------------------------------------------------------


def _raise(error: BaseException, cause: BaseException | None = None) -> BaseException:
    try:
        raise error from cause  # noqa: TRY301 - to give it a traceback
    except BaseException as exc:  # noqa: BLE001 - handed back to the test
        return exc


def test_every_view_of_an_error_is_redacted() -> None:
    """message, str, repr/args, provider_message, field_errors keys and values, notes."""
    secret = "error-key-1"
    error = ProviderDeclinedError(
        f"no {secret}", field_errors={secret: [f"bad {secret}"]}, provider="p"
    )
    error.add_note(f"note {secret}")
    redact_exception(_raise(error), Redactor([secret]))
    assert error.message == "declined by the provider: no ***"
    assert error.args == ("declined by the provider: no ***",)
    assert error.provider_message == "no ***"
    assert dict(error.field_errors) == {"***": ("bad ***",)}
    assert error.__notes__ == ["note ***"]


def test_a_foreign_cause_is_replaced() -> None:
    """Another library's cause gives way to a RedactedCause; payplane causes stay."""
    secret = "cause-key-1"
    inner = _raise(ValueError(f"parsing {secret}"))
    middle = _raise(MalformedPayloadError(f"bad answer {secret}"), inner)
    outer = _raise(UnknownOutcomeError("lost", reference="r-1"), middle)
    redact_exception(outer, Redactor([secret]))
    assert outer.__cause__ is middle
    assert str(middle) == "bad answer ***"
    stand_in = middle.__cause__
    assert isinstance(stand_in, RedactedCause)
    assert stand_in.original_type is ValueError
    assert str(stand_in) == "ValueError: parsing ***"
    assert stand_in.__traceback__ is inner.__traceback__
    assert middle.__context__ is None


def test_an_implicit_context_is_replaced_too() -> None:
    """An exception raised while handling another shows no raw context either."""
    secret = "context-key-1"
    try:
        try:
            raise KeyError(secret)  # noqa: TRY301 - the context under test
        except KeyError:
            raise MalformedPayloadError("no such member") from None
    except MalformedPayloadError as exc:
        suppressed = exc
    try:
        try:
            raise KeyError(secret)  # noqa: TRY301
        except KeyError:
            raise MalformedPayloadError("no such member")  # noqa: B904
    except MalformedPayloadError as exc:
        shown = exc
    redactor = Redactor([secret])
    redact_exception(suppressed, redactor)
    redact_exception(shown, redactor)
    assert suppressed.__cause__ is None
    assert suppressed.__context__ is None
    assert isinstance(shown.__cause__, RedactedCause)
    assert str(shown.__cause__) == "KeyError: '***'"
    assert shown.__context__ is None


# -- headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Authorization", "proxy-authorization", "Cookie", "set-cookie", "X-API-Key", "api_key"],
)
def test_credential_headers_are_masked_by_name(name: str) -> None:
    """A credential header reads *** whatever its value."""
    assert is_sensitive_header(name)
    assert redact_headers({name: "not-a-known-secret"}, Redactor(())) == {name: "***"}


def test_other_headers_keep_their_value_minus_secrets() -> None:
    """Other headers are redacted by value only."""
    headers = redact_headers(
        {"content-type": "application/json", "x-echo": "k=header-key-1"}, Redactor(["header-key-1"])
    )
    assert headers == {"content-type": "application/json", "x-echo": "k=***"}


# -- log records of every logger ------------------------------------------------------------


@pytest.fixture
def secret() -> Iterator[str]:
    """A living Secret's value: known to the process's log-record factory."""
    value = payplane.Secret("logged-key-12345")
    yield value.reveal()
    del value


def _texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(message)s")
    return [
        *(text for record in records for text in log_record_texts(record)),
        *(formatter.format(record) for record in records),
    ]


def test_a_child_logger_record_is_redacted(secret: str) -> None:
    """httpcore.http11's records are redacted, though a filter on httpcore never sees them."""
    url = f"https://x/?secret={quote(secret)}"
    with captured_log_records() as records:
        logging.getLogger("httpcore.http11").debug(
            "receive_response_headers.complete return_value=%r", [(b"Location", url.encode())]
        )
    assert records
    assert not any(revealed(secret, text) for text in _texts(records))
    assert "secret=***" in records[0].getMessage()


def test_an_exception_showing_a_secret_is_formatted_and_dropped(secret: str) -> None:
    """A logged exception whose text shows a secret becomes redacted exc_text, no exc_info."""
    with captured_log_records() as records:
        try:
            raise RuntimeError(secret)  # noqa: TRY301 - what careless code logs
        except RuntimeError:
            logging.getLogger("app").exception("failed")
    (record,) = records
    assert record.exc_info is None
    assert record.exc_text is not None
    assert "RuntimeError: ***" in record.exc_text
    assert not any(revealed(secret, text) for text in _texts(records))


def test_an_exception_without_a_secret_keeps_its_exc_info(secret: str) -> None:
    """Handlers that read the exception object (error trackers) keep it when it is clean."""
    with captured_log_records() as records:
        try:
            raise RuntimeError("clean")  # noqa: TRY301
        except RuntimeError:
            logging.getLogger("app").exception("failed")
    assert records[0].exc_info is not None
    assert secret


def test_extra_values_and_structured_messages_are_redacted(secret: str) -> None:
    """extra= values (set after the factory ran) and dict messages are redacted too."""
    with captured_log_records() as records:
        logging.getLogger("app").info("login", extra={"token": secret, "ids": [secret]})
        logging.getLogger("app").info({"event": "login", "key": secret})
    first, second = records
    assert first.token == "***"  # type: ignore[attr-defined]
    assert first.ids == ["***"]  # type: ignore[attr-defined]
    assert second.msg == {"event": "login", "key": "***"}


def test_stack_info_is_redacted(secret: str) -> None:
    """A stack that shows a secret (a source line holding it) is redacted."""
    with captured_log_records() as records:
        logging.getLogger("app").info("here", stack_info=True)  # logged-key-12345
    assert records[0].stack_info is not None
    assert secret not in records[0].stack_info


def test_the_factory_chains_the_one_before(secret: str) -> None:
    """An application's own record factory keeps running under payplane's."""
    original = logging.getLogRecordFactory()

    def tagging(*args: object, **kwargs: object) -> logging.LogRecord:
        record = original(*args, **kwargs)
        record.tagged = True
        return record

    logging.setLogRecordFactory(tagging)
    try:
        _install_record_factory()
        with captured_log_records() as records:
            logging.getLogger("app").warning("key %s", secret)
    finally:
        logging.setLogRecordFactory(original)
    assert records[0].tagged is True  # type: ignore[attr-defined]
    assert records[0].getMessage() == "key ***"


class _Amounts(Mapping[str, int]):
    """A lazy map that declares it holds no text."""

    __payplane_holds_no_text__ = True

    def __getitem__(self, key: str) -> int:
        raise AssertionError(key)  # never read

    def __iter__(self) -> Iterator[str]:
        raise AssertionError  # never walked

    def __len__(self) -> int:
        return 1


def test_a_container_that_holds_no_text_is_not_walked() -> None:
    """A class declaring __payplane_holds_no_text__ is kept as it is, unread."""
    amounts = _Amounts()
    value = {"amounts": amounts, "note": "walked-key-1"}
    redacted = Redactor(["walked-key-1"]).redact_value(value)
    assert redacted == {"amounts": amounts, "note": "***"}
