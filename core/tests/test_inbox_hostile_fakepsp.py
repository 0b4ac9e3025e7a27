"""Correctly signed hostile FakePSP postbacks, on every store: 2xx with the body stored byte
for byte and the event rebuilt exactly, or 400 and kept; never another answer or exception.

FakePSP signs the whole body, so every member is signed: odd strings anywhere (the event
key too), odd numbers as the amount, nesting up to 300 levels (what its plain
``json.loads`` parses), duplicate member names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import payplane_fakepsp
import payplane_hostile as hostile
import payplane_inboxkit as kit
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import payplane
from payplane import PostbackEvent
from payplane._inbox._codec import event_to_dict
from payplane.exceptions import PayplaneError


@st.composite
def signed_postback(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A FakePSP deposit postback, hostile in every member, correctly signed."""
    pairs = [
        ('"kind"', '"deposit"'),
        ('"id"', draw(hostile.json_string())),
        ('"status"', '"paid"'),
        ('"amount"', draw(st.one_of(st.just('"10.5"'), hostile.json_number))),
        ('"currency"', '"USD"'),
        *draw(hostile.members(max_depth=300)),
    ]
    body = hostile.encode(hostile.json_object(pairs))
    return body, {"X-Signature": payplane_fakepsp.sign(body, payplane_fakepsp.TEST_WEBHOOK_SECRET)}


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn, shared by all of a test's examples."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(delivery=signed_postback())
def test_signed_hostile_postbacks_are_recorded_exactly_or_refused_and_kept(
    delivery: tuple[bytes, dict[str, str]],
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
) -> None:
    """2xx: stored byte for byte, the event rebuilt exactly, a repeat not re-applied; or 400."""
    body, headers = delivery
    handler = kit.Recorder()
    inbox = kit.fake_inbox(store, registry, settings, handler)
    verifier = registry.create_provider("fakepsp", settings)[2]
    # A repeat of an earlier example's key would be acknowledged without the handler.
    try:
        verified: PostbackEvent | None = verifier.verify_postback(body, headers)  # type: ignore[attr-defined]
    except PayplaneError:
        verified = None
    known = verified is not None and inbox.get("fakepsp", verified.event_key) is not None

    answer = inbox.receive("fakepsp", body, headers)

    event(f"answer {answer.status_code}")
    assert answer.status_code in {204, 400}, answer.content
    if answer.status_code == 400:
        (rejected,) = inbox.rejected(limit=1)
        assert rejected.body == body[: 64 * 1024]
        assert handler.calls == 0
        return
    assert verified is not None
    record = inbox.get("fakepsp", verified.event_key)
    assert record is not None
    if not known:
        assert record.body == body
        assert record.event_data == event_to_dict(verified)
        assert handler.calls == 1
    assert event_to_dict(record.event) == record.event_data
    assert inbox.receive("fakepsp", body, headers).status_code == 204
    assert handler.calls == (0 if known else 1)
