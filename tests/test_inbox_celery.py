"""The Celery recipe of docs/howto/deferred.md, run with a real worker and a real broker.

A Redis server (Debian's ``redis-server``, which ``.ci/run`` installs) is started on
loopback for the test; a Celery worker process (prefork, two children) runs the recipe's
tasks. Without ``redis-server`` the test is skipped locally and fails under CI, as the
PostgreSQL tests do.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import payplane_storm as storm
import pytest

import payplane
from payplane import RecordState

SNIPPETS = Path(__file__).resolve().parents[1] / "docs" / "snippets"
PROVIDER = "paykassma_wavepay"
EVENTS = 40
LOST = range(30, EVENTS)  # events whose hand-off is lost: the sweep hands them off
FAIL_ONCE = (3, 17)  # events whose first attempt fails: the task retries


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(condition: object, what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    """A Redis server on a free loopback port, for this test only."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    import redis  # noqa: PLC0415

    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        _wait_for(ready, "redis-server to answer", 30)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(30)


@pytest.fixture
def recipe(broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The recipe module, configured for this broker and a fresh SQLite inbox."""
    monkeypatch.setenv("PAYMENTS_BROKER_URL", broker)
    monkeypatch.setenv("PAYMENTS_INBOX_DB", str(tmp_path / "app.sqlite3"))
    monkeypatch.setattr(sys, "path", [str(SNIPPETS), *sys.path])
    monkeypatch.delitem(sys.modules, "inbox_celery", raising=False)
    module = importlib.import_module("inbox_celery")
    yield module
    module.app.close()


@pytest.fixture
def worker(recipe: ModuleType, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A ... worker`: the recipe's app, its credit made to fail some first attempts."""
    fails = tmp_path / "fails"
    fails.mkdir()
    (tmp_path / "recipe_worker.py").write_text(
        textwrap.dedent(
            f"""
            import os
            import inbox_celery

            real = inbox_celery.credit
            FAIL_ONCE = {[storm.event_key(i) for i in FAIL_ONCE]!r}

            def credit(event, transaction):
                if event.event_key in FAIL_ONCE:
                    marker = os.path.join({str(fails)!r}, event.event_key)
                    try:
                        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
                    except FileExistsError:
                        pass
                    else:
                        os.close(fd)
                        raise RuntimeError("injected failure of a first attempt")
                return real(event, transaction)

            inbox_celery.credit = credit
            app = inbox_celery.app
            """
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(SNIPPETS)]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "recipe_worker",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()  # a warm shutdown: tasks in hand finish
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _ledger(path: str) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT event_key, COUNT(*) FROM ledger GROUP BY event_key").fetchall()
    return dict(rows)


def test_celery_recipe_applies_every_event_once(
    recipe: ModuleType, worker: subprocess.Popen[bytes]
) -> None:
    """Duplicated deliveries and tasks, lost hand-offs swept, failed attempts retried: once."""
    store = recipe.open_store()
    web = recipe.make_inbox(store, {PROVIDER: storm.SETTINGS})
    # The same web app whose broker lost some messages: recorded, never handed off.
    lossy = payplane.Inbox(
        store,
        recipe.credit,
        providers={PROVIDER: storm.SETTINGS},
        mode="deferred",
        on_recorded=lambda *_: None,
    )
    try:
        for index in range(EVENTS):
            box = lossy if index in LOST else web
            for _ in range(2):  # the PSP delivers twice
                assert box.receive(PROVIDER, storm.postback(index)).status_code == 200
        for index in range(5):  # and a task is queued twice
            recipe.apply_postback.delay(PROVIDER, "", storm.event_key(index))

        def handed_off_applied() -> bool:
            states = {r.event_key: r.state for r in web.iter_records()}
            return all(
                states.get(storm.event_key(i)) is RecordState.APPLIED
                for i in range(EVENTS)
                if i not in LOST
            )

        _wait_for(handed_off_applied, "the worker to apply the handed-off events")
        lost = web.records(state=RecordState.RECEIVED, limit=100)
        assert sorted(r.event_key for r in lost) == sorted(storm.event_key(i) for i in LOST)
        assert web.sweep(older_than=timedelta(0)) == len(LOST)
        _wait_for(
            lambda: (
                all(r.state is RecordState.APPLIED for r in web.iter_records())
                and len(web.records(limit=1000)) == EVENTS
            ),
            "the swept events",
        )
        assert worker.poll() is None  # the worker process ran it all and is still up
    finally:
        store.close()
    ledger = _ledger(os.environ["PAYMENTS_INBOX_DB"])
    assert ledger == {storm.event_key(i): 1 for i in range(EVENTS)}
    for index in FAIL_ONCE:
        record = web.get(PROVIDER, storm.event_key(index))
        assert record is not None
        assert record.attempts == 2  # failed once, then the retried task applied it
