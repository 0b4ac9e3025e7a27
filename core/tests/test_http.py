"""HTTP descriptions: headers normalised once, reprs that show no secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import payplane
from payplane import HttpRequest, HttpResponse, PostbackAnswer
from payplane.exceptions import ValidationError


def test_header_names_are_lower_cased() -> None:
    """Names are lower-cased once, whatever case the caller or the framework used."""
    request = HttpRequest(
        operation="x", method="GET", url="https://x", headers={"X-Signature": "abc", "Accept": "*"}
    )
    assert dict(request.headers) == {"x-signature": "abc", "accept": "*"}


def test_a_name_given_in_two_cases_keeps_both_values() -> None:
    """X-Sig and x-sig are one field: their values are joined with ", " as HTTP does."""
    response = HttpResponse(status_code=200, headers={"X-Sig": "a", "x-sig": "b", "X-SIG": "c"})
    assert dict(response.headers) == {"x-sig": "a, b, c"}


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=6))
def test_every_value_is_kept(headers: dict[str, str]) -> None:
    """Normalising never drops a value: each name's values, in order, under its lower case."""
    normalised = PostbackAnswer(status_code=200, headers=headers).headers
    expected: dict[str, list[str]] = {}
    for name, value in headers.items():
        expected.setdefault(name.lower(), []).append(value)
    assert dict(normalised) == {name: ", ".join(values) for name, values in expected.items()}


def test_headers_are_read_only() -> None:
    """The normalised mapping cannot be changed behind the description's back."""
    request = HttpRequest(operation="x", method="GET", url="https://x", headers={"a": "1"})
    with pytest.raises(TypeError):
        request.headers["a"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({b"x-signature": "abc"}, "bytes"),
        ({"x-signature": b"abc"}, "'x-signature'"),
        ({"x-count": 3}, "'x-count'"),
        ([("x-signature", "abc")], "list"),
    ],
)
def test_headers_that_are_not_text_are_refused(headers: object, named: str) -> None:
    """Bytes or numbers as names or values are refused, naming the header, not the value."""
    with pytest.raises(ValidationError) as info:
        HttpResponse(status_code=200, headers=headers)  # type: ignore[arg-type]
    assert info.value.field == "headers"
    assert named in info.value.message
    assert "abc" not in info.value.message


def test_request_repr_masks_credentials_and_secrets() -> None:
    """repr() shows *** for credential headers and every living secret, URL and body too."""
    key = payplane.Secret("repr-secret-1234")
    request = HttpRequest(
        operation="start_deposit",
        method="POST",
        url=f"https://x/d?secret={key.reveal()}",
        headers={"Authorization": "Bearer anything", "X-Echo": key.reveal(), "Accept": "*/*"},
        content=f'{{"k": "{key.reveal()}"}}'.encode(),
    )
    text = repr(request)
    assert key.reveal() not in text
    assert "Bearer anything" not in text
    assert "url='https://x/d?secret=***'" in text
    assert "'authorization': '***'" in text
    assert "'x-echo': '***'" in text
    assert "'accept': '*/*'" in text
    assert """content=b'{"k": "***"}'""" in text


def test_response_and_answer_reprs_mask_credentials() -> None:
    """Set-Cookie and secrets in bodies read *** in HttpResponse and PostbackAnswer reprs."""
    key = payplane.Secret("repr-secret-5678")
    response = HttpResponse(
        status_code=200, headers={"Set-Cookie": "s=1"}, content=key.reveal().encode()
    )
    answer = PostbackAnswer(status_code=200, content=key.reveal().encode())
    assert repr(response) == (
        "HttpResponse(status_code=200, headers={'set-cookie': '***'}, content=b'***')"
    )
    assert key.reveal() not in repr(answer)
