"""Record views: pages, kept headers, and the ignored state's place in the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import payplane_fakepsp
import payplane_inboxkit as kit
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import payplane
from payplane import PostbackEvent, RecordState


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


def test_records_page_through_everything_newest_first(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """records(after=last id, limit=n) walks every record once; iter_records does it for you."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    for index in range(7):
        inbox.receive("fakepsp", *kit.delivery(f"d{index}"))
    pages, after = [], None
    while page := inbox.records(after=after, limit=3):
        pages.append([r.event_key for r in page])
        after = page[-1].id
    assert [len(p) for p in pages] == [3, 3, 1]
    walked = [key for page in pages for key in page]
    assert walked == [f"deposit:d{i}:paid" for i in reversed(range(7))]
    assert [r.event_key for r in inbox.iter_records(page=2)] == walked
    ids = [r.id for r in inbox.iter_records()]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 7


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"limit": 0}, "limit must be an int from 1 to 10000"),
        ({"limit": 10_001}, "limit must be an int from 1 to 10000"),
        ({"limit": True}, "limit must be an int"),
        ({"after": "12"}, "after must be a record id"),
    ],
)
def test_bad_page_requests_are_refused_naming_the_argument(
    store: payplane.Store, kwargs: dict[str, object], fragment: str
) -> None:
    """A page is 1 to 10,000 records after an int id: no silent cap, no silent default."""
    with pytest.raises(ValueError, match=fragment):
        store.records(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=fragment):
        store.rejected(**kwargs)  # type: ignore[arg-type]


def test_rejected_deliveries_page_too(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """rejected(after=..., limit=...) pages refused deliveries, newest first."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    for index in range(5):
        body, _ = kit.delivery(f"r{index}")
        inbox.receive("fakepsp", body, {"x-signature": "0"})
    first = inbox.rejected(limit=2)
    rest = inbox.rejected(after=first[-1].id, limit=10)
    assert len(first) + len(rest) == 5
    assert [r.id for r in first + rest] == sorted((r.id for r in first + rest), reverse=True)


@pytest.fixture
def header_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    """FakePSP declares the signature header among those the inbox keeps (issue 11)."""
    monkeypatch.setattr(
        payplane_fakepsp.FakeProvider,
        "postback_headers",
        frozenset({"X-Signature", "x-event-id"}),
        raising=False,
    )


@pytest.mark.usefixtures("header_signing")
def test_declared_headers_are_kept_with_records_and_refusals(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Only the provider's postback_headers are stored, names lower-case, secrets scrubbed."""
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    body, headers = kit.delivery("d1")
    sent = {
        "X-Signature": headers["x-signature"],
        "X-Event-Id": f"evt-{payplane_fakepsp.TEST_WEBHOOK_SECRET}",
        "User-Agent": "psp/1.0",
    }
    assert inbox.receive("fakepsp", body, sent).status_code == 204
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert dict(record.headers) == {"x-signature": headers["x-signature"], "x-event-id": "evt-***"}
    assert inbox.receive("fakepsp", body, {**sent, "X-Signature": "0"}).status_code == 400
    [refused] = inbox.rejected()
    assert dict(refused.headers) == {"x-signature": "0", "x-event-id": "evt-***"}


def test_no_declared_headers_keeps_none(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A provider that declares no postback_headers: records keep no headers."""
    monkeypatch.setattr(payplane_fakepsp.FakeProvider, "postback_headers", frozenset())
    inbox = kit.fake_inbox(store, registry, settings, kit.Recorder())
    inbox.receive("fakepsp", *kit.delivery("d1"))
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert dict(record.headers) == {}


class IgnoringInbox(payplane.Inbox):
    """Stands in for issue 11's non-payment events: 'refunded' postbacks are not payments."""

    def _is_payment(self, event: PostbackEvent) -> bool:
        return event.status.raw != "refunded"


@pytest.mark.parametrize("mode", ["inline", "deferred"])
def test_a_non_payment_event_is_recorded_ignored_and_never_handled(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object], mode: str
) -> None:
    """Acknowledged, recorded as ignored, never given to the handler, workers, or retry."""
    handler = kit.Recorder()
    inbox = IgnoringInbox(
        store,
        handler,
        providers={"fakepsp": settings},
        registry=registry,
        mode=mode,  # type: ignore[arg-type]
    )
    for _ in range(2):
        assert inbox.receive("fakepsp", *kit.delivery("d1", status="refunded")).status_code == 204
    [record] = inbox.records(state=RecordState.IGNORED)
    assert record.attempts == 0
    assert record.next_attempt_at is None
    assert inbox.work(until_idle=True).attempts == 0
    assert inbox.retry("fakepsp", record.event_key) is RecordState.IGNORED
    assert inbox.apply("fakepsp", record.event_key) is RecordState.IGNORED
    assert handler.calls == 0


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=20))
def test_paging_any_history_is_complete_and_ordered(
    registry: payplane.Registry, settings: dict[str, object], names: list[str]
) -> None:
    """Whatever was recorded, pages of any size list each record exactly once, newest first."""
    inbox = kit.fake_inbox(payplane.MemoryStore(), registry, settings, kit.Recorder())
    for index, name in enumerate(names):
        inbox.receive("fakepsp", *kit.delivery(f"{name}{index % 3}"))
    expected = [r.id for r in inbox.records(limit=10_000)]
    for size in (1, 2, 5):
        assert [r.id for r in inbox.iter_records(page=size)] == expected
    assert len(set(expected)) == len(expected)


@pytest.mark.parametrize("how", ["worker", "retry", "delivery"])
def test_a_recorded_event_found_to_be_no_payment_is_settled_as_ignored(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object], how: str
) -> None:
    """Recorded as received by an inbox that took it for a payment: settled, not handled."""
    kit.fake_inbox(store, registry, settings, kit.Recorder(), mode="deferred").receive(
        "fakepsp", *kit.delivery("d1", status="refunded")
    )
    handler = kit.Recorder()
    inbox = IgnoringInbox(store, handler, providers={"fakepsp": settings}, registry=registry)
    if how == "worker":
        assert inbox.work(until_idle=True).ignored == 1
    elif how == "retry":
        assert inbox.retry("fakepsp", "deposit:d1:refunded") is RecordState.IGNORED
    else:
        assert inbox.receive("fakepsp", *kit.delivery("d1", status="refunded")).status_code == 204
    record = inbox.get("fakepsp", "deposit:d1:refunded")
    assert record is not None
    assert (record.state, record.next_attempt_at) == (RecordState.IGNORED, None)
    assert record.applied_at is not None
    assert handler.calls == 0
