"""`payplane inbox`: pages, accounts, workers, dead events, requeue and prune."""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys
import textwrap
from pathlib import Path

import payplane_storm as storm
import pytest
from click.testing import CliRunner, Result

import payplane
from payplane import Backoff, InboxTransaction, PostbackEvent
from payplane._cli import cli

PROVIDER = "paykassma_wavepay"


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def _noop(event: PostbackEvent, transaction: InboxTransaction) -> None:
    del event, transaction


def _inbox(path: Path, **kwargs: object) -> payplane.Inbox:
    return payplane.Inbox(
        payplane.SQLiteStore(path),
        _noop,
        providers={PROVIDER: storm.SETTINGS},
        registry=payplane.Registry(strict=True),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable handler that fails while FAIL holds event keys, in the working directory."""
    (tmp_path / "cli_work_handlers.py").write_text(
        textwrap.dedent(
            """
            CALLS = []
            FAIL = set()

            def apply(event, transaction):
                CALLS.append(event.event_key)
                if event.event_key in FAIL:
                    raise RuntimeError("still broken")
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "cli_work_handlers", raising=False)
    return "cli_work_handlers:apply"


def test_list_pages_with_limit_and_after(tmp_path: Path) -> None:
    """--limit pages; a full page says how to get the next; --after continues to the end."""
    db = tmp_path / "inbox.sqlite3"
    box = _inbox(db)
    for index in range(5):
        box.receive(PROVIDER, storm.postback(index))
    box.store.close()
    seen: list[str] = []
    after: list[str] = []
    hints: list[str] = []
    while True:
        result = run(["inbox", "--db", str(db), "list", "--limit", "2", *after, "--json"])
        page = json.loads(result.output)
        seen += [r["event_key"] for r in page]
        table = run(["inbox", "--db", str(db), "list", "--limit", "2", *after])
        hints.append(table.stderr.strip())
        if len(page) < 2:
            break
        after = ["--after", str(page[-1]["id"])]
    assert seen == [storm.event_key(i) for i in reversed(range(5))]
    assert hints[0].startswith("(more: add --after ")
    assert hints[-1] == ""


def test_work_applies_deferred_events(tmp_path: Path, handler_module: str) -> None:
    """`inbox work --until-idle` applies what deferred deliveries recorded, then exits 0."""
    db = tmp_path / "inbox.sqlite3"
    box = _inbox(db, mode="deferred")
    for index in range(3):
        assert box.receive(PROVIDER, storm.postback(index)).status_code == 200
    box.store.close()
    result = run(["inbox", "--db", str(db), "work", "--handler", handler_module, "--until-idle"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 applied, 0 failed, 0 dead"
    assert sorted(sys.modules["cli_work_handlers"].CALLS) == [storm.event_key(i) for i in range(3)]


def test_dead_events_listed_then_requeued_and_applied(tmp_path: Path, handler_module: str) -> None:
    """A dead event is listed with --state dead; requeue makes it due; a worker applies it."""
    db = tmp_path / "inbox.sqlite3"
    box = _inbox(db, mode="deferred")
    for index in range(3):
        box.receive(PROVIDER, storm.postback(index))
    box.store.close()
    base = ["inbox", "--db", str(db)]
    work = [*base, "work", "--handler", handler_module, "--until-idle", "--max-attempts", "1"]
    failing = {storm.event_key(0), storm.event_key(1)}
    importlib.import_module("cli_work_handlers").FAIL.update(failing)
    assert run(work).output.strip() == "1 applied, 0 failed, 2 dead"
    dead = json.loads(run([*base, "list", "--state", "dead", "--json"]).output)
    assert sorted(r["event_key"] for r in dead) == [storm.event_key(0), storm.event_key(1)]
    assert all(r["last_error"] == "RuntimeError: still broken" for r in dead)
    sys.modules["cli_work_handlers"].FAIL.clear()  # the operator fixes the cause
    one = run([*base, "requeue", PROVIDER, storm.event_key(0)])
    assert one.output.strip() == f"{PROVIDER}/{storm.event_key(0)}: received"
    rest = run([*base, "requeue", "--all-dead", "--json"])
    assert json.loads(rest.output) == {"requeued": 1}
    assert run(work).output.strip() == "2 applied, 0 failed, 0 dead"
    states = {r["state"] for r in json.loads(run([*base, "list", "--json"]).output)}
    assert states == {"applied"}


def test_requeue_needs_one_event_or_all_dead(tmp_path: Path) -> None:
    """Neither or both: a one-line usage error, exit 2."""
    db = tmp_path / "inbox.sqlite3"
    payplane.SQLiteStore(db).close()
    for args in ([], [PROVIDER, "k", "--all-dead"]):
        result = run(["inbox", "--db", str(db), "requeue", *args])
        assert result.exit_code == 2
        assert "name one event (PROVIDER EVENT_KEY) or pass --all-dead" in result.stderr


def test_prune_dry_run_then_delete(tmp_path: Path) -> None:
    """prune deletes applied records and refused deliveries past their age, nothing else."""
    db = tmp_path / "inbox.sqlite3"
    box = _inbox(db, mode="deferred")
    for index in range(4):
        box.receive(PROVIDER, storm.postback(index))
    box.work(max_events=3, backoff=Backoff())
    box.receive(PROVIDER, b"{}")  # refused: kept among the rejected
    box.store.close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE payplane_postbacks SET applied_at = '2020-01-01T00:00:00+00:00'")
        conn.execute("UPDATE payplane_rejected SET received_at = '2020-01-01T00:00:00+00:00'")
    conn.close()
    base = ["inbox", "--db", str(db), "prune", "--applied-older-than", "30d"]
    dry = run([*base, "--rejected-older-than", "1w", "--dry-run", "--json"])
    assert json.loads(dry.output) == {"records": 3, "rejected": 1, "dry_run": True}
    done = run([*base, "--rejected-older-than", "1w", "--batch", "2"])
    assert done.output.strip() == "deleted 3 record(s) and 1 refused delivery(ies)"
    left = json.loads(run(["inbox", "--db", str(db), "list", "--json"]).output)
    assert [r["state"] for r in left] == ["received"]  # never pruned
    assert json.loads(run(["inbox", "--db", str(db), "list", "--rejected", "--json"]).output) == []


@pytest.mark.parametrize("age", ["30", "d", "0d", "3x", "1.5d", "-2d"])
def test_prune_refuses_a_bad_age(tmp_path: Path, age: str) -> None:
    """An age is digits and a unit (s, m, h, d, w): anything else is a one-line error."""
    db = tmp_path / "inbox.sqlite3"
    payplane.SQLiteStore(db).close()
    result = run(["inbox", "--db", str(db), "prune", "--applied-older-than", age])
    assert result.exit_code == 2
    assert result.stderr.startswith("payplane: error: --applied-older-than")


def test_show_and_list_name_the_account(tmp_path: Path) -> None:
    """Records of a named account are shown with it, and found with --account."""
    db = tmp_path / "inbox.sqlite3"
    box = payplane.Inbox(
        payplane.SQLiteStore(db), _noop, accounts={PROVIDER: {"shop-a": storm.SETTINGS}}
    )
    box.receive(PROVIDER, storm.postback(1), account="shop-a")
    box.store.close()
    base = ["inbox", "--db", str(db)]
    [record] = json.loads(run([*base, "list", "--account", "shop-a", "--json"]).output)
    assert record["account"] == "shop-a"
    assert json.loads(run([*base, "list", "--account", "", "--json"]).output) == []
    shown = run([*base, "show", PROVIDER, storm.event_key(1), "--account", "shop-a", "--json"])
    assert json.loads(shown.output)["account"] == "shop-a"
    missing = run([*base, "show", PROVIDER, storm.event_key(1)])
    assert missing.exit_code == 1
