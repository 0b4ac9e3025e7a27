"""Several merchant accounts of one provider in one inbox, each verified with its own keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import payplane_storm as storm
import pytest

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError

PROVIDER = "paykassma_wavepay"
KEYS = {
    "shop-a": ("access-key-of-shop-a", "private-key-of-shop-a"),
    "shop-b": ("access-key-of-shop-b", "private-key-of-shop-b"),
}


def _settings(account: str) -> dict[str, object]:
    access, private = KEYS[account]
    return {**storm.SETTINGS, "postback_access_key": access, "postback_private_key": private}


def _postback(index: int, account: str) -> bytes:
    access, private = KEYS[account]
    return storm.postback(index, access=access, private=private)


class Handler:
    """Records (account-free) event keys it applied."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        self.keys.append(event.event_key)


@pytest.fixture(params=["sqlite", "postgres"])
def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Inbox]:
    """An inbox serving shop-a and shop-b of paykassma_wavepay, each with its own keys."""
    if request.param == "sqlite":
        store: payplane.Store = payplane.SQLiteStore(tmp_path / "inbox.sqlite3")
    else:
        store = payplane.PostgresStore(request.getfixturevalue("postgres_conninfo"))
    box = payplane.Inbox(
        store,
        Handler(),
        accounts={PROVIDER: {name: _settings(name) for name in KEYS}},
        registry=payplane.Registry(strict=True),
    )
    yield box
    store.close()


@asynccontextmanager
async def _client(inbox: payplane.Inbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=payplane.postback_app(inbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _handler(inbox: payplane.Inbox) -> Any:
    return inbox.handler


async def test_each_account_verified_with_its_own_keys(inbox: payplane.Inbox) -> None:
    """POST /paykassma_wavepay/shop-a and /shop-b: each applied, recorded under its account."""
    async with _client(inbox) as client:
        a = await client.post(f"/{PROVIDER}/shop-a", content=_postback(1, "shop-a"))
        b = await client.post(f"/{PROVIDER}/shop-b/", content=_postback(2, "shop-b"))
    assert (a.status_code, a.content) == storm.OK
    assert (b.status_code, b.content) == storm.OK
    assert _handler(inbox).keys == [storm.event_key(1), storm.event_key(2)]
    records = {(r.account, r.event_key) for r in inbox.records()}
    assert records == {("shop-a", storm.event_key(1)), ("shop-b", storm.event_key(2))}
    record = inbox.get(PROVIDER, storm.event_key(1), account="shop-a")
    assert record is not None
    assert (record.account, record.state) == ("shop-a", RecordState.APPLIED)
    assert inbox.get(PROVIDER, storm.event_key(1)) is None  # not under the default account


async def test_postback_for_a_sent_to_b_is_refused_and_kept_with_b(
    inbox: payplane.Inbox,
) -> None:
    """A's postback at B's URL: verified with B's keys, refused (400), kept under shop-b."""
    async with _client(inbox) as client:
        answer = await client.post(f"/{PROVIDER}/shop-b", content=_postback(3, "shop-a"))
    assert answer.status_code == 400
    assert _handler(inbox).keys == []
    assert inbox.records() == []
    [refused] = inbox.rejected()
    assert (refused.provider, refused.account) == (PROVIDER, "shop-b")
    assert refused.error.startswith("SignatureError")
    assert inbox.rejected(account="shop-a") == []
    # The body carries shop A's access key: kept scrubbed of every account's secrets.
    assert b'"access_key":"***"' in refused.body
    for access, private in KEYS.values():
        assert access.encode() not in refused.body
        assert private.encode() not in refused.body


def test_one_event_key_under_two_accounts_is_two_events(inbox: payplane.Inbox) -> None:
    """Records are keyed by provider, account and event key."""
    assert inbox.receive(PROVIDER, _postback(4, "shop-a"), account="shop-a").status_code == 200
    assert inbox.receive(PROVIDER, _postback(4, "shop-b"), account="shop-b").status_code == 200
    assert inbox.receive(PROVIDER, _postback(4, "shop-b"), account="shop-b").status_code == 200
    assert _handler(inbox).keys == [storm.event_key(4)] * 2
    assert sorted(r.account for r in inbox.records()) == ["shop-a", "shop-b"]


async def test_unknown_account_and_missing_account_are_not_found(inbox: payplane.Inbox) -> None:
    """Only configured (provider, account) pairs are served: 404 otherwise, nothing kept."""
    async with _client(inbox) as client:
        unknown = await client.post(f"/{PROVIDER}/shop-c", content=_postback(5, "shop-a"))
        bare = await client.post(f"/{PROVIDER}", content=_postback(5, "shop-a"))
    assert (unknown.status_code, bare.status_code) == (404, 404)
    assert b"account 'shop-c'" in unknown.content
    assert inbox.rejected() == []
    assert inbox.records() == []


def test_one_account_per_provider_stays_the_default(tmp_path: Path) -> None:
    """providers={...} serves POST /{provider}, recorded under the account ''."""
    store = payplane.SQLiteStore(tmp_path / "one.sqlite3")
    try:
        box = payplane.Inbox(store, Handler(), providers={PROVIDER: storm.SETTINGS})
        assert box.endpoints == ((PROVIDER, ""),)
        assert box.receive(PROVIDER, storm.postback(6)).status_code == 200
        [record] = box.records()
        assert record.account == ""
    finally:
        store.close()


@pytest.mark.parametrize("account", ["Shop-A", "a" * 65, "shop a", "shop/a", "é", 7])
def test_bad_account_ids_are_refused_naming_the_field(account: object, tmp_path: Path) -> None:
    """Account ids are 1 to 64 of a-z, 0-9, '_' and '-': anything else names `account`."""
    box = payplane.Inbox(payplane.MemoryStore(), Handler())
    with pytest.raises(ConfigurationError, match="account must be") as info:
        box.add_provider(PROVIDER, storm.SETTINGS, account=account)  # type: ignore[arg-type]
    assert info.value.field == "account"
