"""Operating the inbox: header names, body limits over ASGI, trailing slashes, the bounds of
the rejected deliveries, what is logged and what is stored, on every store."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import payplane_fakepsp
import payplane_inboxkit as kit
import pytest

import payplane
from payplane import OtherEvent, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError, MalformedPayloadError, SignatureError
from payplane.hookspecs import hookimpl

SECRET = payplane_fakepsp.TEST_WEBHOOK_SECRET


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


def _plugin(provider_id: str, factory: Any) -> object:
    """An in-process plugin: FakePSP's spec under *provider_id*, built by *factory*."""
    spec = attrs.evolve(payplane_fakepsp.SPEC, id=provider_id, factory=factory)

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [spec]

    return Plugin()


# -- header names ----------------------------------------------------------------------------


class StrictHeaders(payplane_fakepsp.FakeProvider):
    """FakePSP reading its header by its lower-case name only, as providers may."""

    seen: list[dict[str, str]] = []  # noqa: RUF012 - a test's record

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Verify with ``headers["x-signature"]`` exactly."""
        StrictHeaders.seen.append(dict(headers))
        if headers.get("x-signature") != payplane_fakepsp.sign(body, SECRET):
            msg = "x-signature missing or wrong"
            raise SignatureError(msg)
        return super().verify_postback(body, headers)


@pytest.mark.parametrize("name", ["X-Signature", "x-signature", "X-SIGNATURE", "x-SiGnAtUrE"])
def test_header_names_reach_the_provider_lower_cased(
    name: str, store: payplane.Store, settings: dict[str, object]
) -> None:
    """Flask/Django spell X-Signature, ASGI x-signature: the provider sees one spelling."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin("strictpsp", StrictHeaders), name="strictpsp")
    handler = kit.Recorder()
    inbox = payplane.Inbox(store, handler, providers={"strictpsp": settings}, registry=registry)
    body, headers = kit.delivery("d1")
    StrictHeaders.seen.clear()
    answer = inbox.receive(
        "strictpsp", body, {name: headers["x-signature"], "Content-Type": "application/json"}
    )
    assert answer.status_code == 204
    assert len(handler.events) == 1
    assert StrictHeaders.seen == [
        {"x-signature": headers["x-signature"], "content-type": "application/json"}
    ]


# -- the ASGI app: size limit, trailing slash ------------------------------------------------


def _app_client(inbox: payplane.Inbox) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=payplane.postback_app(inbox))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_declared_length_over_limit_refused_before_reading(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Content-Length over the limit: 413 stating size and limit, kept, nothing read."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder(), max_body=500)
    read: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"x" * 1000

    async with _app_client(inbox) as client:
        answer = await client.post("/fakepsp", content=body(), headers={"content-length": "1000"})
    assert answer.status_code == 413
    assert answer.json()["error"] == "body of 1000 bytes is over the limit of 500 bytes"
    (rejected,) = inbox.rejected()
    assert rejected.error == "[fakepsp] body of 1000 bytes is over the limit of 500 bytes"
    assert rejected.body == b""


async def test_streamed_body_over_limit_states_the_limit_and_a_lower_bound(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """No Content-Length: reading stops past the limit; 413 says 'at least N', N > limit."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder(), max_body=500)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 300

    async with _app_client(inbox) as client:
        answer = await client.post("/fakepsp", content=body())
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error == "body of at least 600 bytes is over the limit of 500 bytes"
    (rejected,) = inbox.rejected()
    assert rejected.error == f"[fakepsp] {error}"
    assert rejected.body == b"y" * 600


async def test_body_at_the_limit_is_read(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A body exactly max_body long, streamed or declared, reaches the provider."""
    body, headers = kit.delivery("d1")
    handler = kit.Recorder()
    inbox = kit.fake_inbox(store, registry, settings, handler, max_body=len(body))

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    async with _app_client(inbox) as client:
        declared = await client.post("/fakepsp", content=body, headers=headers)
        streamed = await client.post("/fakepsp", content=chunks(), headers=headers)
    assert (declared.status_code, streamed.status_code) == (204, 204)
    assert len(handler.events) == 1


async def test_trailing_slash_is_served_not_redirected(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """POST /fakepsp/ is the same endpoint as POST /fakepsp: no 307 for a PSP to ignore."""
    handler = kit.Recorder()
    inbox = kit.fake_inbox(store, registry, settings, handler)
    body, headers = kit.delivery("d1")
    async with _app_client(inbox) as client:
        slash = await client.post("/fakepsp/", content=body, headers=headers)
        plain = await client.post("/fakepsp", content=body, headers=headers)
        deeper = await client.post("/fakepsp/x/", content=body, headers=headers)
    assert (slash.status_code, plain.status_code) == (204, 204)
    assert deeper.status_code == 404
    assert len(handler.events) == 1


# -- bounds of the rejected deliveries ---------------------------------------------------------


def test_rejected_kept_up_to_the_count_limit(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    registry: payplane.Registry,
    settings: dict[str, object],
) -> None:
    """Forged postbacks beyond rejected_limit push the oldest out, on every store."""
    for kind in kit.STORES:
        store = kit.make_store(kind, tmp_path, request, rejected_limit=3)
        try:
            inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
            for index in range(7):
                body, _ = kit.delivery(f"forged-{index}")
                assert inbox.receive("fakepsp", body, {"x-signature": "0"}).status_code == 400
            kept = [json.loads(r.body)["id"] for r in inbox.rejected(limit=100)]
            assert kept == ["forged-6", "forged-5", "forged-4"], kind
        finally:
            store.close()


def test_rejected_older_than_the_age_limit_dropped(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    registry: payplane.Registry,
    settings: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refusal older than rejected_max_age goes with the next one kept, on every store."""
    for kind in kit.STORES:
        store = kit.make_store(kind, tmp_path, request, rejected_max_age=timedelta(days=2))
        try:
            inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
            now = datetime.now(UTC)
            for when, name in ((now - timedelta(days=3), "old"), (now, "new")):
                for module in kit.CLOCKED_MODULES:
                    monkeypatch.setattr(module, "_now", lambda when=when: when)
                body, _ = kit.delivery(name)
                assert inbox.receive("fakepsp", body, {"x-signature": "0"}).status_code == 400
            monkeypatch.undo()
            assert [json.loads(r.body)["id"] for r in inbox.rejected()] == ["new"], kind
        finally:
            store.close()


def test_rejected_bounds_default_and_checked() -> None:
    """10,000 rows and 30 days by default; None lifts a bound; nonsense is refused by name."""
    store = payplane.MemoryStore()
    assert (store.rejected_limit, store.rejected_max_age) == (10_000, timedelta(days=30))
    unbounded = payplane.MemoryStore(rejected_limit=None, rejected_max_age=None)
    assert (unbounded.rejected_limit, unbounded.rejected_max_age) == (None, None)
    for bad in ({"rejected_limit": 0}, {"rejected_limit": 1.5}, {"rejected_limit": True}):
        with pytest.raises(ConfigurationError, match="rejected_limit"):
            payplane.MemoryStore(**bad)
    for bad_age in ({"rejected_max_age": 30}, {"rejected_max_age": timedelta(0)}):
        with pytest.raises(ConfigurationError, match="rejected_max_age"):
            payplane.MemoryStore(**bad_age)


# -- logs ---------------------------------------------------------------------------------------


def test_handler_failure_logged_with_scrubbed_traceback(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler's failure: a WARNING with the traceback as text, secrets scrubbed, no exc_info."""
    handler = kit.Recorder()
    handler.fail_next = 1
    inbox = kit.fake_inbox(store, registry, settings, handler)
    with caplog.at_level(logging.INFO, logger="payplane.inbox"):
        assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    (failure,) = [r for r in caplog.records if "handler failed" in r.getMessage()]
    text = failure.getMessage()
    assert failure.levelno == logging.WARNING
    assert failure.exc_info is None
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: boom with ***" in text
    assert "payplane_inboxkit.py" in text  # the handler's own frame
    assert SECRET not in text


def test_signature_rejection_is_a_warning_others_info(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A signature mismatch (a wrong key rejects every real postback) logs a WARNING."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    body, _ = kit.delivery("d1")
    garbage = b"not json"
    with caplog.at_level(logging.INFO, logger="payplane.inbox"):
        inbox.receive("fakepsp", body, {"x-signature": "0" * 64})
        inbox.receive("fakepsp", garbage, {"x-signature": payplane_fakepsp.sign(garbage, SECRET)})
    levels = [(r.levelno, r.getMessage().split(": ", 1)[1]) for r in caplog.records]
    assert levels[0] == (logging.WARNING, "SignatureError: x-signature does not match")
    assert levels[1][0] == logging.INFO
    assert levels[1][1].startswith("MalformedPayloadError: not a FakePSP postback")


class Buggy(payplane_fakepsp.FakeProvider):
    """FakePSP whose verification has a bug that echoes a secret."""

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Fail the way a provider bug does."""
        msg = f"unexpected state while holding {SECRET}"
        raise KeyError(msg)


def test_provider_bug_keeps_the_body_and_asks_for_a_resend(
    store: payplane.Store, settings: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """A provider raising a non-payplane error: kept among rejected, 'send again', logged."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin("buggypsp", Buggy), name="buggypsp")
    inbox = payplane.Inbox(
        store, kit.Recorder(), providers={"buggypsp": settings}, registry=registry
    )
    body, headers = kit.delivery("d1")
    with caplog.at_level(logging.ERROR, logger="payplane.inbox"):
        answer = inbox.receive("buggypsp", body, headers)
    assert answer.status_code == 503
    (rejected,) = inbox.rejected()
    assert rejected.body == body
    assert rejected.error == "internal error: KeyError: 'unexpected state while holding ***'"
    (logged,) = caplog.records
    assert "Traceback (most recent call last)" in logged.getMessage()
    assert SECRET not in logged.getMessage()
    assert logged.exc_info is None


# -- what is stored --------------------------------------------------------------------------


def test_secret_repeated_in_a_member_is_scrubbed_from_every_stored_text(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A secret in the body: gone from the stored body and event; the handler saw it."""
    handler = kit.Recorder()
    handler.fail_next = 1
    inbox = kit.fake_inbox(store, registry, settings, handler)
    delivery = kit.delivery("d1", note=SECRET, nested={SECRET: [SECRET, f"x{SECRET}x"]})
    assert inbox.receive("fakepsp", *delivery).status_code == 503
    assert inbox.receive("fakepsp", *delivery).status_code == 204
    assert handler.events[0].raw["note"] == SECRET
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert SECRET.encode() not in record.body
    assert SECRET not in json.dumps(record.event_data)
    event = record.event
    assert isinstance(event, PostbackEvent)
    assert event.raw["note"] == "***"
    assert event.raw["nested"] == {"***": ["***", "x***x"]}
    assert event.amount == payplane.Money("10.5", "USD")


SLASHED_SECRET = "fake/webhook+secret/01"  # made up; base64 keys hold slashes


def _escaped_secret_delivery(secret: str, escaped: str) -> tuple[bytes, dict[str, str]]:
    """A delivery whose body writes *secret* JSON-escaped, as *escaped*."""
    body = (
        '{"kind":"deposit","id":"d1","status":"paid","amount":"10.5","currency":"USD",'
        f'"note":"{escaped}"}}'
    ).encode()
    return body, {"x-signature": payplane_fakepsp.sign(body, secret)}


def test_secret_written_escaped_is_scrubbed_from_the_stored_event(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A secret the body writes JSON-escaped (``\\u002d``) is parsed plain: *** in the event."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    delivery = _escaped_secret_delivery(SECRET, SECRET.replace("-", "\\u002d"))
    assert inbox.receive("fakepsp", *delivery).status_code == 204
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.event.raw["note"] == "***"


def test_secret_written_escaped_is_scrubbed_from_the_stored_body(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A secret with slashes, written ``\\/`` as PHP does, is *** in the stored body too."""
    inbox = kit.fake_inbox(
        store, registry, {**settings, "webhook_secret": SLASHED_SECRET}, kit.Recorder()
    )
    escaped = SLASHED_SECRET.replace("/", "\\/")
    body, headers = _escaped_secret_delivery(SLASHED_SECRET, escaped)
    assert inbox.receive("fakepsp", body, headers).status_code == 204
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.event.raw["note"] == "***"
    assert record.body == body.replace(escaped.encode(), b"***")


class Deep(payplane_fakepsp.FakeProvider):
    """FakePSP whose events carry a raw member nested *DEPTH* levels deep."""

    DEPTH = 0

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """The verified event, with deep raw data added."""
        event = super().verify_postback(body, headers)
        deep: list[Any] = []
        for _ in range(Deep.DEPTH - 1):
            deep = [deep]
        return attrs.evolve(event, raw={**event.raw, "deep": deep})


@pytest.mark.parametrize("depth", [61, 62, 63, 200, 5000])
def test_event_nesting_beyond_the_limit_refused_and_kept(
    depth: int, store: payplane.Store, settings: dict[str, object]
) -> None:
    """An event nesting over 64 levels (event -> raw -> member ...) is 400, kept; else stored."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin("deeppsp", Deep), name="deeppsp")
    handler = kit.Recorder()
    inbox = payplane.Inbox(store, handler, providers={"deeppsp": settings}, registry=registry)
    Deep.DEPTH = depth
    body, headers = kit.delivery("d1")
    answer = inbox.receive("deeppsp", body, headers)
    # The event is level 1, raw level 2, raw["deep"] level 3: depth 62 ends at level 64.
    if depth <= 62:
        assert answer.status_code == 204
        record = inbox.get("deeppsp", "deposit:d1:paid")
        assert record is not None
        assert record.event.event_key == "deposit:d1:paid"
    else:
        assert answer.status_code == 400
        assert json.loads(answer.content)["error"] == "the event nests deeper than 64 levels"
        assert [r.body for r in inbox.rejected()] == [body]
        assert handler.calls == 0


def test_surrogate_pair_read_as_two_characters_is_refused_and_kept(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """CESU-8 bytes FakePSP reads leniently as two surrogates: 400 and kept, not altered."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    # One emoji written as two 3-byte surrogates (CESU-8): not UTF-8, and JSON text
    # could only ever mean the one character.
    split = "\ud83d\ude00".encode("utf-8", "surrogatepass")
    body, headers = kit.delivery("d1")
    body = body[:-1] + b', "note": "' + split + b'"}'
    headers = {"x-signature": payplane_fakepsp.sign(body, SECRET)}
    answer = inbox.receive("fakepsp", body, headers)
    assert answer.status_code == 400
    assert "surrogate pair as two separate characters" in json.loads(answer.content)["error"]
    assert [r.body for r in inbox.rejected()] == [body]
    assert inbox.get("fakepsp", "deposit:d1:paid") is None


class Odd(payplane_fakepsp.FakeProvider):
    """FakePSP whose event keys and error messages hold what no text column takes."""

    KEY = ""
    MESSAGE = ""

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Refuse with MESSAGE if set, else return the event under KEY."""
        if Odd.MESSAGE:
            raise MalformedPayloadError(Odd.MESSAGE)
        return attrs.evolve(super().verify_postback(body, headers), event_key=Odd.KEY)


@pytest.mark.parametrize(
    ("key", "stored"),
    [
        ("nul\x00key", False),
        ("lone\ud800surrogate", False),
        ("k" * 2048, True),
        ("k" * 2049, False),
        ("é" * 1024, True),
        ("é" * 1025, False),
        ("emoji \U0001f600 \u2028 key", True),
    ],
    ids=["nul", "surrogate", "2048-bytes", "2049-bytes", "2048-utf8", "2050-utf8", "non-bmp"],
)
def test_event_keys_no_store_can_keep_are_refused_on_every_store(
    key: str, stored: bool, store: payplane.Store, settings: dict[str, object]
) -> None:
    """NUL, lone surrogates or over 2,048 UTF-8 bytes: 400 and kept; others recorded exactly."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin("oddpsp", Odd), name="oddpsp")
    handler = kit.Recorder()
    inbox = payplane.Inbox(store, handler, providers={"oddpsp": settings}, registry=registry)
    Odd.KEY, Odd.MESSAGE = key, ""
    body, headers = kit.delivery("d1")
    answer = inbox.receive("oddpsp", body, headers)
    if stored:
        assert answer.status_code == 204
        record = inbox.get("oddpsp", key)
        assert record is not None
        assert (record.event_key, record.event.event_key) == (key, key)
        assert record.state is RecordState.APPLIED
    else:
        assert answer.status_code == 400
        assert [r.body for r in inbox.rejected()] == [body]
        assert handler.calls == 0


def test_refusal_messages_with_odd_text_are_kept(
    store: payplane.Store, settings: dict[str, object]
) -> None:
    """A refusal whose message quotes NUL or a lone surrogate is kept, escaped; never a 500."""
    registry = payplane.Registry(autoload=False)
    registry.register(_plugin("oddpsp", Odd), name="oddpsp")
    inbox = payplane.Inbox(store, kit.Recorder(), providers={"oddpsp": settings}, registry=registry)
    Odd.MESSAGE = "bad value 'a\x00b\ud800c'"
    try:
        answer = inbox.receive("oddpsp", b'{"a\\u0000b": "\\ud800"}', {})
    finally:
        Odd.MESSAGE = ""
    assert answer.status_code == 400
    (rejected,) = inbox.rejected()
    assert rejected.error == "MalformedPayloadError: bad value 'a\\x00b\\ud800c'"
    assert rejected.body == b'{"a\\u0000b": "\\ud800"}'
