"""No secret in any view: a property test over generated secrets and a provider that echoes.

The secrets are drawn from generated text with slashes, quotes, backslashes, percent signs,
``+``, ``&``, spaces, non-ASCII and non-BMP characters; the second secret is independent,
inside the first, or around it. EchoPSP (``payplane_echopsp``) and the transport below
put them everywhere: query strings, credential headers, HTTP Basic, JSON bodies, answers
written with any subset of characters ``\\uXXXX``-escaped and ``/`` as ``\\/``, decline
messages and ``field_errors``, activation answers, redirects, lost answers, malformed
answers, log records of child loggers, postback members.

Every view is then searched for each secret by an oracle independent of payplane's
redactor: the text as is, percent-decoded (once or twice, ``+`` as space or not),
backslash-unescaped (JSON, Python, bytes reprs, nested), and every base64 run decoded.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import random
import re
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import cattrs
import httpx
import payplane_echopsp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from payplane_echopsp import BASE_URL, sign
from payplane_logcheck import texts_of
from payplane_oracle import base64_decodings, decodings, revealed, revealed_in, shown

import payplane
from payplane import ActivationRequest, DepositRequest, HttpResponse, Money, WithdrawalRequest
from payplane.exceptions import PayplaneError, ProviderDeclinedError, UnknownOutcomeError
from payplane.hookspecs import hookimpl
from payplane.testing import captured_log_records, log_record_texts

FAST = payplane.RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
# Each example compiles the patterns of two new secrets and runs a dozen exchanges or two
# inbox deliveries: a quarter of the profile's examples (dev 12, ci 50, deep 1250).
EXAMPLES = max(10, settings().max_examples // 4)

# -- JSON written as a hostile provider writes it ------------------------------------------


_BASE64_LIKE = re.compile(r"[A-Za-z0-9+/=]{16,}")


def _escape_some(text: str, chooser: random.Random) -> str:
    """A JSON string literal with a random subset of characters written ``\\uXXXX``.

    As an encoder would write it: a backslash is always ``\\\\`` (no encoder writes
    ``\\u005c``), and base64 runs keep their letters and digits (none escapes those).
    """
    kept = {i for match in _BASE64_LIKE.finditer(text) for i in range(*match.span())}
    parts = []
    for index, char in enumerate(text):
        code = ord(char)
        if char == "\\":
            parts.append("\\\\")
        elif char == '"' or code < 0x20 or (index not in kept and chooser.random() < 0.5):
            units = char.encode("utf-16-be", "surrogatepass")
            parts.extend(
                f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2)
            )
        elif char == "/" and chooser.random() < 0.5:
            parts.append("\\/")
        else:
            parts.append(char)
    return '"' + "".join(parts) + '"'


def encode(value: object, style: int) -> bytes:
    """JSON in one of four styles: plain UTF-8, ASCII escapes, ``\\/``, random escapes."""
    if style == 0:
        return json.dumps(value, ensure_ascii=False).encode()
    if style == 1:
        return json.dumps(value).encode()
    if style == 2:
        return json.dumps(value).replace("/", "\\/").encode()
    chooser = random.Random(style)  # noqa: S311 - picks escapes, not keys

    def write(item: object) -> str:
        if isinstance(item, dict):
            pairs = (f"{write(str(k))}:{write(v)}" for k, v in item.items())
            return "{" + ",".join(pairs) + "}"
        if isinstance(item, list):
            return "[" + ",".join(map(write, item)) + "]"
        if isinstance(item, str):
            return _escape_some(item, chooser)
        return json.dumps(item)

    return write(value).encode()


# -- the exchanges ------------------------------------------------------------------------


class EchoServer:
    """The transport: answers that echo the secret and the request, as *mode* says."""

    def __init__(self, key: str, style: int) -> None:
        self.key = key
        self.style = style
        self.mode = "ok"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        echo = {
            "url": str(request.url),
            "auth": request.headers.get("authorization", ""),
            "basic": request.headers.get("x-echo", ""),
            "body": request.content.decode(),
            "key": self.key,
        }
        if self.mode == "decline":
            answer: dict[str, Any] = {"error": f"key {self.key} refused", **echo}
        elif self.mode == "timeout":
            message = f"timed out on {request.url} ({request.headers['authorization']})"
            raise httpx.ReadTimeout(message, request=request)
        elif self.mode == "redirect":
            location = f"https://elsewhere.test/?secret={quote(self.key, safe='')}"
            return httpx.Response(307, headers={"location": location})
        elif self.mode == "malformed":
            answer = {"status": f"odd {self.key}", "echo": echo}
        else:
            answer = {
                "account": self.key,
                "status": self.key,
                "message": f"hello {self.key}",
                "nested": [{self.key: [self.key]}],
                **echo,
            }
        echoed = self.key if self.key.isascii() else quote(self.key, safe="")
        headers = {"content-type": "application/json", "x-echo": echoed}
        return httpx.Response(200, content=encode(answer, self.style), headers=headers)


class Observer:
    """Keeps every hook payload."""

    def __init__(self) -> None:
        self.payloads: list[object] = []

    @hookimpl
    def payplane_request_sent(self, provider: str, request: payplane.HttpRequest) -> None:
        self.payloads.append((provider, request))

    @hookimpl
    def payplane_response_received(
        self, request: payplane.HttpRequest, response: HttpResponse
    ) -> None:
        self.payloads.append((request, response))


def _registry(observer: Observer | None = None) -> payplane.Registry:
    registry = payplane.Registry(autoload=False)
    registry.register(payplane_echopsp, name="echopsp")
    if observer is not None:
        registry.register(observer, name="observer")
    return registry


def _error_views(error: BaseException) -> list[str]:
    """What a caller and a traceback show of an error: every text, and the traceback."""
    return [*texts_of(error), "".join(traceback.format_exception(error))]


def _raised(call: Callable[[], object]) -> PayplaneError:
    try:
        call()
    except PayplaneError as exc:
        return exc
    pytest.fail("expected a payplane error")


def client_views(key: str, hook: str, style: int) -> dict[str, list[str]]:
    """Run every exchange and collect what each view shows."""
    observer = Observer()
    registry = _registry(observer)
    server = EchoServer(key, style)
    values = {"api_key": key, "webhook_secret": hook}
    views: dict[str, list[str]] = {}
    activation = ActivationRequest(
        customer_id="cust-1", amount=Money(5, "USD"), transaction_id="T-1", reference="act-1"
    )
    withdrawal = WithdrawalRequest(
        customer_id="cust-1", amount=Money(5, "USD"), account_number="0123", reference="wd-1"
    )
    with (
        captured_log_records() as records,
        registry.client(
            "echopsp", values, transport=httpx.MockTransport(server), retry=FAST
        ) as client,
    ):
        start = client.start_deposit(DepositRequest(customer_id="cust-1", currency="USD"))
        views["deposit result"] = [*texts_of(start), repr(start)]
        result = client.activate_deposit(activation)
        views["activation result"] = [*texts_of(result), repr(result), str(result.raw)]
        for mode, call in (
            ("decline", lambda: client.activate_deposit(activation)),
            ("redirect", lambda: client.activate_deposit(activation)),
            ("timeout", lambda: client.create_withdrawal(withdrawal)),
            ("malformed", lambda: client.create_withdrawal(withdrawal)),
        ):
            server.mode = mode
            views[f"{mode} error"] = _error_views(_raised(call))
        views["hook payloads"] = [*texts_of(observer.payloads), repr(observer.payloads)]
        built = client.provider.build_deposit(DepositRequest(customer_id="c", currency="USD"))  # type: ignore[attr-defined]
        answer = HttpResponse(
            status_code=200,
            headers={"Set-Cookie": f"s={key}", "X-Echo": key},
            content=encode({"key": key}, style),
        )
        views["reprs"] = [repr(built), repr(answer)]
        settings_obj = client.settings
        as_dict = attrs.asdict(settings_obj)  # type: ignore[arg-type]
        views["settings"] = [
            repr(settings_obj),
            str(settings_obj),
            repr(as_dict),
            repr(attrs.astuple(settings_obj)),  # type: ignore[arg-type]
            repr(cattrs.unstructure(settings_obj)),
            json.dumps(as_dict, default=str),
            json.dumps(as_dict, default=str, ensure_ascii=False),
        ]
        _log_everywhere(key)
    views["log records"] = [
        text for record in records for text in (*log_record_texts(record), _formatted(record))
    ]
    return views


def _log_everywhere(key: str) -> None:
    """Log the key as libraries and careless code do, on loggers payplane does not own."""
    url = f"{BASE_URL}/x?secret={quote(key, safe='')}"
    headers = [(b"Location", url.encode()), (b"X-Echo", key.encode())]
    logging.getLogger("httpcore.http11").debug(
        "receive_response_headers.complete return_value=%r", (b"HTTP/1.1", 307, b"", headers)
    )
    logging.getLogger("httpx").info("HTTP Request: POST %s", url)
    logging.getLogger("app.deep.child").warning("key %s", key, extra={"leaked": [key]})
    logging.getLogger("app.structured").info({"event": "login", "key": key})
    try:
        raise ValueError(key)  # noqa: TRY301 - a careless error message
    except ValueError:
        logging.getLogger("app").exception("failed with %r", key)


def _formatted(record: logging.LogRecord) -> str:
    return logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)


@functools.cache
def background() -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """What views show besides a secret (with made-up ones), decoded as the oracle does."""
    views = client_views("made-up-api-key-1", "made-up-webhook-2", 0)
    texts = {item for shown in views.values() for text in shown for item in decodings(text)}
    data = {blob for item in texts for blob in base64_decodings(item)}
    return tuple(texts), tuple(data)


def in_background(secret: str) -> bool:
    """Whether *secret* occurs in what views show anyway (a class name, a field name)."""
    texts, data = background()
    raw = secret.encode("utf-8", "surrogatepass")
    return any(secret in text for text in texts) or any(raw in blob for blob in data)


# -- the secrets ----------------------------------------------------------------------------

_CHARS = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    include_characters="/\\\"'%+&=?# é中😀𝄞",
    exclude_characters="*",  # the marker itself: "x***" after redacting "xx***" is not a leak
)
_TEXT = st.text(_CHARS, min_size=8, max_size=24).filter(lambda s: s == s.strip())


@st.composite
def secret_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """An API key and a webhook secret: independent, one inside the other, or around it."""
    key = draw(_TEXT)
    relation = draw(st.sampled_from(["independent", "inside", "around"]))
    if relation == "independent":
        hook = draw(_TEXT)
    elif relation == "inside":
        start = draw(st.integers(0, len(key) - 8))
        hook = key[start : draw(st.integers(start + 8, len(key)))]
    else:
        hook = key + draw(st.text(_CHARS, min_size=1, max_size=4))
    for secret in (key, hook):
        assume(secret == secret.strip() and len(set(secret)) >= 3)
        assume(not in_background(secret))
    return key, hook


def _leaks(views: dict[str, list[str]], secrets: tuple[str, ...]) -> list[str]:
    leaks: list[str] = []
    for name, texts in views.items():
        for text in set(texts):
            found = shown(text)
            leaks.extend(
                f"{name}: {text[:200]!r}" for secret in secrets if revealed_in(secret, *found)
            )
    return sorted(leaks)


# -- the properties -------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(secrets=secret_pairs(), style=st.integers(0, 50))
def test_no_client_view_shows_a_secret(secrets: tuple[str, str], style: int) -> None:
    """Errors (str, repr, args, attributes, chain, traceback), results, hook payloads,
    reprs, settings serialisations and log records of any logger show no secret, in any
    form, whatever the secret holds and however the provider writes it back."""
    views = client_views(*secrets, style)
    assert _leaks(views, secrets) == []


def test_the_oracle_sees_every_form() -> None:
    """The oracle finds a secret raw, percent-encoded, escaped, nested and in base64."""
    secret = 'a/b "é😀%'
    forms = [
        secret,
        quote(secret, safe=""),
        quote(quote(secret, safe=""), safe=""),
        json.dumps(secret),
        json.dumps(json.dumps(secret)),
        json.dumps(secret).replace("/", "\\/"),
        repr(secret.encode()),
        base64.b64encode(f"kid:{secret}".encode()).decode(),
    ]
    assert all(revealed(secret, f"<{form}>") for form in forms)
    assert not revealed(secret, "<***>")


def test_a_declined_error_is_redacted_in_every_view() -> None:
    """The example of the issue: a decline echoing the key, in str, repr, args and fields."""
    key, hook = "api-key-echoed-1234", "hook-secret-5678"
    server = EchoServer(key, 0)
    server.mode = "decline"
    with _registry().client(
        "echopsp",
        {"api_key": key, "webhook_secret": hook},
        transport=httpx.MockTransport(server),
    ) as client:
        error = _raised(
            lambda: client.activate_deposit(
                ActivationRequest(customer_id="c", amount=Money(1, "USD"), transaction_id="T")
            )
        )
    assert isinstance(error, ProviderDeclinedError)
    assert error.provider_message == "key *** refused"
    refused = "key *** refused"
    assert dict(error.field_errors) == {refused: (refused, f"again {refused}")}
    assert repr(error) == "ProviderDeclinedError('declined by the provider: key *** refused')"
    assert str(error) == "[echopsp.activate_deposit] declined by the provider: key *** refused"


def test_a_lost_answer_keeps_no_httpx_error_with_the_url() -> None:
    """The chained httpx error is replaced by a RedactedCause: type, text, traceback."""
    key = "api-key-in-the-query-1"
    server = EchoServer(key, 0)
    server.mode = "timeout"
    with _registry().client(
        "echopsp",
        {"api_key": key, "webhook_secret": "hook-secret-5678"},
        transport=httpx.MockTransport(server),
        retry=FAST,
    ) as client:
        error = _raised(
            lambda: client.create_withdrawal(
                WithdrawalRequest(customer_id="c", amount=Money(1, "USD"), account_number="1")
            )
        )
    assert isinstance(error, UnknownOutcomeError)
    chain = []
    link: BaseException | None = error
    while link is not None:
        chain.append(link)
        assert link.__context__ is None
        link = link.__cause__
    cause = chain[-1]
    assert isinstance(cause, payplane.exceptions.RedactedCause)
    assert cause.original_type is httpx.ReadTimeout
    assert str(cause).startswith("httpx.ReadTimeout: timed out on https://echo.test/withdrawals?")
    assert "secret=***" in str(cause)
    assert cause.__traceback__ is not None


# -- stored views (the inbox) -----------------------------------------------------------------

STORES = ["memory", "sqlite", "postgres"]


def _store(kind: str, folder: Path, request: pytest.FixtureRequest) -> payplane.Store:
    if kind == "memory":
        return payplane.MemoryStore()
    if kind == "sqlite":
        return payplane.SQLiteStore(folder / "inbox.sqlite3")
    return payplane.PostgresStore(request.getfixturevalue("postgres_conninfo"))


def stored_views(
    store: payplane.Store, key: str, hook: str, style: int, number: int
) -> dict[str, list[str]]:
    """Deliver a signed and a badly signed postback holding the secrets; read the store."""
    inbox = payplane.Inbox(
        store,
        lambda _event, _tx: None,
        providers={"echopsp": {"api_key": key, "webhook_secret": hook}},
        registry=_registry(),
    )
    event_key = f"evt-{number}"
    postback = {
        "id": event_key,
        "amount": "5",
        "customer": "cust-1",
        "comment": f"echo {key} and {hook}",
        "nested": {"again": [key, hook]},
        "access_key": hook,
    }
    body = encode(postback, style)
    # Lower-case names: header normalisation in the inbox is another test's business.
    answer = inbox.receive("echopsp", body, {"x-signature": sign(body, hook)})
    assert answer.status_code == 200
    refused = inbox.receive("echopsp", body, {"x-signature": "0" * 64})
    assert refused.status_code == 400
    record = inbox.get("echopsp", event_key)
    assert record is not None
    rejected = inbox.rejected(limit=1)[0]
    return {
        "stored body": [record.body.decode("utf-8", "surrogateescape")],
        "rejected body and error": [
            rejected.body.decode("utf-8", "surrogateescape"),
            rejected.error,
            refused.content.decode(),
        ],
        "stored event": [
            json.dumps(record.event_data),
            json.dumps(record.event_data, ensure_ascii=False),
            *texts_of(record.event_data),
        ],
    }


def _stored(
    kind: str, request: pytest.FixtureRequest
) -> Callable[[tuple[str, str], int], dict[str, list[str]]]:
    counter = iter(range(10**9))

    def views(secrets: tuple[str, str], style: int) -> dict[str, list[str]]:
        with tempfile.TemporaryDirectory() as folder:
            store = _store(kind, Path(folder), request)
            try:
                return stored_views(store, *secrets, style, next(counter))
            finally:
                store.close()

    return views


@pytest.mark.parametrize("kind", STORES)
def test_no_stored_body_or_error_shows_a_secret(kind: str, request: pytest.FixtureRequest) -> None:
    """Stored bodies and rejection records hold no secret in any form, on every store."""
    views = _stored(kind, request)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(secrets=secret_pairs(), style=st.integers(0, 50))
    def check(secrets: tuple[str, str], style: int) -> None:
        found = views(secrets, style)
        del found["stored event"]
        assert _leaks(found, secrets) == []

    check()


@pytest.mark.parametrize("kind", STORES)
def test_no_stored_event_shows_a_secret(kind: str, request: pytest.FixtureRequest) -> None:
    """The stored event JSON holds no secret, whichever member repeats it, on every store."""
    views = _stored(kind, request)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(secrets=secret_pairs(), style=st.integers(0, 50))
    def check(secrets: tuple[str, str], style: int) -> None:
        assert _leaks(views(secrets, style), secrets) == []

    check()
