"""Retention: Inbox.prune deletes what is settled and old, in batches, beside live deliveries."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import payplane_inboxkit as kit
import psycopg
import pytest

import payplane
from payplane import Backoff, PruneResult, RecordState
from payplane.exceptions import ConfigurationError

OLD = "2020-01-01T00:00:00+00:00"


@pytest.fixture(params=kit.SQL_STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each SQL store in turn."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


def _sql(store: payplane.Store, statement: str) -> None:
    """Run *statement* on the store's database, outside the store."""
    if isinstance(store, payplane.SQLiteStore):
        conn = sqlite3.connect(store.path)
        with conn:
            conn.execute(statement)
        conn.close()
    else:
        with psycopg.connect(store.test_conninfo, autocommit=True) as pg:  # type: ignore[attr-defined]
            pg.execute(statement)  # literal test SQL


def _age_everything(store: payplane.Store) -> None:
    _sql(store, f"UPDATE payplane_postbacks SET applied_at = '{OLD}', received_at = '{OLD}'")  # noqa: S608
    _sql(store, f"UPDATE payplane_rejected SET received_at = '{OLD}'")  # noqa: S608


def test_prune_deletes_settled_and_old_only(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Applied and refused deliveries past the age go; received, failed and dead stay."""
    handler = kit.Recorder()
    inbox = kit.fake_inbox(
        store, registry, settings, handler, mode="deferred", max_attempts=1, backoff=Backoff()
    )
    for name in ("applied", "dead", "waiting"):
        inbox.receive("fakepsp", *kit.delivery(name))
    inbox.work(max_events=1)  # the first is applied
    handler.fail_next = 1
    inbox.work(max_events=1)  # the second fails once: dead
    body, _ = kit.delivery("refused")
    inbox.receive("fakepsp", body, {"x-signature": "0"})
    _age_everything(store)
    dry = inbox.prune(
        applied_older_than=timedelta(days=1), rejected_older_than=timedelta(days=1), dry_run=True
    )
    assert dry == PruneResult(records=1, rejected=1, dry_run=True)
    assert len(inbox.records()) == 3
    done = inbox.prune(applied_older_than=timedelta(days=1), rejected_older_than=timedelta(days=1))
    assert done == PruneResult(records=1, rejected=1)
    assert sorted(r.state.value for r in inbox.records()) == ["dead", "received"]
    assert inbox.rejected() == []
    # Younger than the age: kept.
    inbox.requeue("fakepsp", "deposit:dead:paid")
    inbox.work(until_idle=True)
    assert inbox.prune(applied_older_than=timedelta(days=1)).records == 0


def test_prune_arguments_are_checked(registry: payplane.Registry) -> None:
    """Ages are positive timedeltas; a batch is 1 to 100,000 rows."""
    inbox = payplane.Inbox(payplane.MemoryStore(), print, registry=registry)
    for kwargs, field in (
        ({"applied_older_than": timedelta(0)}, "applied_older_than"),
        ({"applied_older_than": 30}, "applied_older_than"),
        (
            {"applied_older_than": timedelta(1), "rejected_older_than": -timedelta(1)},
            "rejected_older_than",
        ),
        ({"applied_older_than": timedelta(1), "batch": 0}, "batch"),
    ):
        with pytest.raises(ConfigurationError) as info:
            inbox.prune(**kwargs)
        assert info.value.field == field


def _fill(store: payplane.Store, count: int) -> None:
    """Insert *count* applied records, applied long ago, straight into the table."""
    columns = (
        "provider, account, event_key, kind, state, attempts, received_at, applied_at, body, event"
    )
    if isinstance(store, payplane.SQLiteStore):
        _sql(
            store,
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"  # noqa: S608
            f" INSERT INTO payplane_postbacks ({columns}) SELECT 'fakepsp', '', 'old:' || i,"
            f" 'deposit', 'applied', 1, '{OLD}', '{OLD}', x'7b7d', '{{}}' FROM n",
        )
    else:
        _sql(
            store,
            f"INSERT INTO payplane_postbacks ({columns}) SELECT 'fakepsp', '', 'old:' || i,"  # noqa: S608
            f" 'deposit', 'applied', 1, '{OLD}', '{OLD}', '\\x7b7d', '{{}}'"
            f" FROM generate_series(1, {count}) AS i",
        )


def test_deliveries_are_answered_while_a_prune_of_100k_rows_runs(
    store: payplane.Store, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Batches are short transactions: every delivery meanwhile gets 'ok' within its bound."""
    _fill(store, 100_000)
    handler = kit.Recorder()
    # The bound: a delivery that cannot have the write lock within it is answered "send again".
    inbox = kit.fake_inbox(store, registry, settings, handler, wait=2.0)
    result: list[PruneResult] = []
    pruning = threading.Thread(
        target=lambda: result.append(inbox.prune(applied_older_than=timedelta(days=1)))
    )
    answers: list[int] = []
    during = 0
    pruning.start()
    while pruning.is_alive() or len(answers) < 5:
        alive = pruning.is_alive()
        answers.append(inbox.receive("fakepsp", *kit.delivery(f"live{len(answers)}")).status_code)
        during += alive and pruning.is_alive()
    pruning.join()
    assert result == [PruneResult(records=100_000, rejected=0)]
    assert during > 0  # deliveries really ran while the prune did
    assert set(answers) == {204}
    assert len(handler.events) == len(answers)
    live = inbox.records(state=RecordState.APPLIED, limit=10_000)
    assert sorted(r.event_key for r in live) == sorted(
        f"deposit:live{i}:paid" for i in range(len(answers))
    )
