"""Neutral records: what requests refuse at construction, and PostbackEvent.unsigned."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import (
    ActivationRequest,
    DepositRequest,
    DepositStatus,
    MappedStatus,
    Money,
    PostbackEvent,
    PostbackKind,
    WithdrawalRequest,
)
from payplane._inbox._codec import event_from_dict, event_to_dict
from payplane.exceptions import MalformedPayloadError, ValidationError
from payplane.testing import deposit_requests, withdrawal_requests

# -- redirect URLs ---------------------------------------------------------------------

BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://shop.example/ok",
    "//shop.example/ok",
    "/ok",
    "shop.example/ok",
    "https://",
    "https:///path",
    "https://shop.example/ok page",
    "https://shop.example/ok\n",
    " https://shop.example/ok",
    "https://shop.example/\x00",
    "https://shop.example/\u2028",
    "https://shop.example:99999/",
    "https://user:pass@shop.example/",
    "https://bank.example@evil.example/",
    "",
]


@pytest.mark.parametrize("field", ["success_url", "fail_url", "pending_url"])
@pytest.mark.parametrize("url", BAD_URLS)
def test_redirect_urls_must_be_absolute_http(field: str, url: str) -> None:
    """Anything but an absolute http(s) URL with a host is refused, naming the field."""
    urls: dict[str, Any] = {field: url}
    with pytest.raises(ValidationError) as info:
        DepositRequest(customer_id="55", currency="MMK", **urls)
    assert info.value.field == field
    assert info.value.limit == "absolute http(s) URL with a host"


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/ok",
        "http://127.0.0.1:8000/ok?a=1&b=2#top",
        "HTTPS://shop.example",
        "https://shop.example/\u0437\u0430\u043a\u0430\u0437",
        "https://[::1]:8443/ok",
    ],
)
def test_absolute_http_urls_are_accepted(url: str) -> None:
    """http and https URLs with a host pass as given."""
    request = DepositRequest(customer_id="55", currency="MMK", success_url=url)
    assert request.success_url == url


def test_urls_that_are_not_strings_are_refused() -> None:
    """A URL must be text."""
    with pytest.raises(ValidationError, match="must be a URL string"):
        DepositRequest(customer_id="55", currency="MMK", fail_url=b"https://x")  # type: ignore[arg-type]


# -- ids and free text -------------------------------------------------------------------

CONTROL = ["a\nb", "55\n", "\r55", "x\x00", "\x7f", "a\x85", "tab\there", "\ud800", "\udfff"]


@pytest.mark.parametrize("text", CONTROL)
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda t: DepositRequest(customer_id=t, currency="MMK"), "customer_id"),
        (lambda t: DepositRequest(customer_id="55", currency="MMK", reference=t), "reference"),
        (lambda t: DepositRequest(customer_id="55", currency="MMK", language=t), "language"),
        (
            lambda t: ActivationRequest(customer_id=t, amount=Money(1, "MMK"), transaction_id="1"),
            "customer_id",
        ),
        (
            lambda t: ActivationRequest(customer_id="5", amount=Money(1, "MMK"), transaction_id=t),
            "transaction_id",
        ),
        (
            lambda t: ActivationRequest(
                customer_id="5", amount=Money(1, "MMK"), transaction_id="1", reference=t
            ),
            "reference",
        ),
        (
            lambda t: WithdrawalRequest(
                customer_id=t, amount=Money(1, "MMK"), account_number="01642234663"
            ),
            "customer_id",
        ),
        (
            lambda t: WithdrawalRequest(customer_id="5", amount=Money(1, "MMK"), account_number=t),
            "account_number",
        ),
        (
            lambda t: WithdrawalRequest(
                customer_id="5", amount=Money(1, "MMK"), account_number="1", account_email=t
            ),
            "account_email",
        ),
        (
            lambda t: WithdrawalRequest(
                customer_id="5", amount=Money(1, "MMK"), account_number="1", reference=t
            ),
            "reference",
        ),
    ],
)
def test_ids_with_control_characters_are_refused(build: Any, field: str, text: str) -> None:
    """A newline (what `$(cat file)` leaves), NUL, DEL, C1 or a lone surrogate in an id."""
    with pytest.raises(ValidationError) as info:
        build(text)
    assert info.value.field == field
    assert info.value.limit == "no control characters or lone surrogates"


@pytest.mark.parametrize("comment", ["line one\nline two", "tab\tstop", "crlf\r\n", "\u1000"])
def test_comments_may_hold_line_breaks(comment: str) -> None:
    """Free text keeps tabs and line breaks."""
    request = WithdrawalRequest(
        customer_id="5", amount=Money(1, "MMK"), account_number="1", comment=comment
    )
    assert request.comment == comment


@pytest.mark.parametrize("comment", ["nul\x00", "bell\x07", "\x1b[31m", "\ud800"])
def test_comments_refuse_other_control_characters(comment: str) -> None:
    """NUL, escapes and lone surrogates are not text, even in a comment."""
    with pytest.raises(ValidationError) as info:
        WithdrawalRequest(
            customer_id="5", amount=Money(1, "MMK"), account_number="1", comment=comment
        )
    assert info.value.field == "comment"


@pytest.mark.parametrize(
    "extra", [{"payment_url_success_id": 11}, {5: "x"}, {"id": "a\nb"}, {"id\x00": "1"}]
)
def test_deposit_extra_is_text_without_controls(extra: dict[Any, Any]) -> None:
    """extra maps text to text: it goes into URLs and bodies."""
    with pytest.raises(ValidationError) as info:
        DepositRequest(customer_id="55", currency="MMK", extra=extra)
    assert info.value.field.startswith("extra")


@given(deposit_requests(["MMK"]) | withdrawal_requests(["MMK"]))
def test_public_strategies_draw_valid_requests(request: object) -> None:
    """payplane.testing's strategies still draw only requests the models accept."""
    assert isinstance(request, DepositRequest | WithdrawalRequest)


# -- PostbackEvent.unsigned and its storage ------------------------------------------------


def event(**changes: Any) -> PostbackEvent:
    fields: dict[str, Any] = {
        "provider": "acme",
        "kind": PostbackKind.DEPOSIT,
        "event_key": "k1",
        "status": MappedStatus(DepositStatus.SUCCEEDED, "ok"),
        "amount": Money("6000", "MMK"),
        "customer_id": "55",
    }
    return PostbackEvent(**{**fields, **changes})


def test_unsigned_defaults_to_empty() -> None:
    """An event whose signature covers everything names nothing."""
    assert event().unsigned == frozenset()


def test_unsigned_takes_any_collection_of_field_names() -> None:
    """A list or set of field names becomes a frozenset."""
    assert event(unsigned=["customer_id", "occurred_at"]).unsigned == {
        "customer_id",
        "occurred_at",
    }


@pytest.mark.parametrize("names", [{"label"}, {"customer_id", "created_datetime"}, "customer_id"])
def test_unsigned_refuses_what_is_not_a_field_name(names: object) -> None:
    """Wire names (label) or a bare string are not the event's field names."""
    with pytest.raises(ValidationError) as info:
        event(unsigned=names)
    assert info.value.field == "unsigned"


@given(st.sets(st.sampled_from(["customer_id", "occurred_at", "reference", "raw"])))
def test_unsigned_round_trips_through_storage(names: set[str]) -> None:
    """event_to_dict writes the names (sorted), event_from_dict reads them back."""
    original = event(unsigned=names)
    data = event_to_dict(original)
    assert data["unsigned"] == sorted(names)
    assert event_from_dict(data) == original


def test_events_stored_before_unsigned_existed_still_load() -> None:
    """Stored data without an "unsigned" member loads, with nothing named."""
    data = event_to_dict(event(unsigned={"customer_id"}))
    del data["unsigned"]
    loaded = event_from_dict(data)
    assert isinstance(loaded, PostbackEvent)
    assert loaded.unsigned == frozenset()


@pytest.mark.parametrize("stored", ["customer_id", [1], ["label"], {"a": 1}])
def test_stored_unsigned_that_is_not_field_names_is_malformed(stored: object) -> None:
    """A stored "unsigned" that is no list of field names is not a stored event."""
    data = event_to_dict(event())
    data["unsigned"] = stored
    with pytest.raises(MalformedPayloadError):
        event_from_dict(data)
