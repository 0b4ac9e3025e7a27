"""Helpers shared by the inbox tests: stores of each kind, FakePSP deliveries, a recording
handler, and PostgreSQL backends to terminate (only the test's own, found by the
``application_name`` its store connects with)."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import payplane_fakepsp
import pytest

import payplane
from payplane import InboxTransaction, PostbackEvent

STORES = ("memory", "sqlite", "postgres")
SQL_STORES = ("sqlite", "postgres")


def _clocked_modules() -> tuple[Any, ...]:
    import payplane._inbox._memory  # noqa: PLC0415
    import payplane._inbox._postgres  # noqa: PLC0415
    import payplane._inbox._sql  # noqa: PLC0415
    import payplane._inbox._sqlite  # noqa: PLC0415

    return (
        payplane._inbox._memory,
        payplane._inbox._sql,
        payplane._inbox._sqlite,
        payplane._inbox._postgres,
    )


CLOCKED_MODULES = _clocked_modules()
"""The inbox modules that read the time through their ``_now``: patch them all."""


def named_conninfo(conninfo: str) -> tuple[str, str]:
    """Return *conninfo* with a fresh ``application_name``, and that name."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    name = f"payplane-test-{uuid.uuid4().hex[:12]}"
    return make_conninfo(conninfo, application_name=name), name


def make_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, **kwargs: Any
) -> payplane.Store:
    """A store of *kind* (``memory``, ``sqlite``, ``postgres``); *kwargs* go to it.

    A PostgreSQL store connects with its own ``application_name``, kept as
    ``store.test_application_name`` so a test can terminate its backends.
    """
    if kind == "memory":
        return payplane.MemoryStore(**kwargs)
    if kind == "sqlite":
        return payplane.SQLiteStore(tmp_path / f"inbox-{uuid.uuid4().hex[:8]}.sqlite3", **kwargs)
    conninfo, name = named_conninfo(request.getfixturevalue("postgres_conninfo"))
    store = payplane.PostgresStore(conninfo, **kwargs)
    store.test_application_name = name  # type: ignore[attr-defined]
    store.test_conninfo = conninfo  # type: ignore[attr-defined]
    return store


def terminate_backends(application_name: str) -> list[int]:
    """Terminate the server processes of connections named *application_name*."""
    import psycopg  # noqa: PLC0415

    dsn = os.environ["PAYPLANE_TEST_POSTGRES_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (application_name,),
            ).fetchall()
        ]
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # Wait until they are gone, so the next statement on them surely fails.
        for _ in range(500):
            (alive,) = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone() or (0,)
            if not alive:
                break
            threading.Event().wait(0.01)
    return pids


def terminate_backend(pid: int) -> None:
    """Terminate one server process (one of the test's own connections)."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(os.environ["PAYPLANE_TEST_POSTGRES_DSN"], autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(500):
            row = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if row is None:
                return
            threading.Event().wait(0.01)


def delivery(event_id: str, status: str = "paid", **extra: object) -> tuple[bytes, dict[str, str]]:
    """A signed FakePSP deposit postback; *extra* members are added to the body."""
    body = json.dumps(
        {
            "kind": "deposit",
            "id": event_id,
            "status": status,
            "amount": "10.5",
            "currency": "USD",
            **extra,
        }
    ).encode()
    return body, {"x-signature": payplane_fakepsp.sign(body, payplane_fakepsp.TEST_WEBHOOK_SECRET)}


def fake_inbox(
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Any,
    **kwargs: Any,
) -> payplane.Inbox:
    """An inbox over *store* accepting FakePSP."""
    return payplane.Inbox(
        store, handler, providers={"fakepsp": settings}, registry=registry, **kwargs
    )


class Recorder:
    """A handler that records the events it applied and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[PostbackEvent] = []
        self.calls = 0
        self.fail_next = 0
        self.lock = threading.Lock()

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Record *event*, or raise (with a secret in the message) when told to."""
        with self.lock:
            self.calls += 1
            if self.fail_next:
                self.fail_next -= 1
                msg = f"boom with {payplane_fakepsp.TEST_WEBHOOK_SECRET}"
                raise RuntimeError(msg)
            self.events.append(event)
