"""The FastAPI, Flask and Django snippets of docs/howto/postbacks.md, executed."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import payplane_storm as storm
import pytest

import payplane

SNIPPETS = Path(__file__).resolve().parents[1] / "docs" / "snippets"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_snippet_{name}", SNIPPETS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[payplane.Inbox]:
    """The inbox exactly as the how-to builds it."""
    setup = _load("inbox_setup")
    inbox: payplane.Inbox = setup.make_inbox(str(tmp_path / "app.sqlite3"), storm.SETTINGS)
    inbox.path = tmp_path / "app.sqlite3"  # type: ignore[attr-defined]
    yield inbox
    inbox.store.close()


def _ledger(inbox: payplane.Inbox) -> list[tuple[str, str]]:
    conn = sqlite3.connect(inbox.path)  # type: ignore[attr-defined]
    try:
        return conn.execute("SELECT event_key, amount FROM ledger").fetchall()
    finally:
        conn.close()


async def test_fastapi_mounted_and_own_route(inbox: payplane.Inbox) -> None:
    """Both FastAPI ways: the mounted app and a hand-written route; applied once."""
    import httpx  # noqa: PLC0415

    app = _load("inbox_fastapi").create_app(inbox)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.post("/postbacks/paykassma_wavepay", content=storm.postback(1))
        again = await client.post("/hooks/paykassma_wavepay", content=storm.postback(1))
        forged_body = storm.postback(1).replace(b"TX00000001", b"TX00000002")
        forged = await client.post("/postbacks/paykassma_wavepay", content=forged_body)
    assert (first.status_code, first.content) == storm.OK
    assert (again.status_code, again.content) == storm.OK
    assert forged.status_code == 400
    assert _ledger(inbox) == [(storm.event_key(1), "1001")]


async def test_fastapi_own_route_stops_reading_past_the_limit(inbox: payplane.Inbox) -> None:
    """The hand-written route reads a chunked body only up to max_body + 1 bytes: 413.

    ``await request.body()`` would read all of it into memory before the inbox refused it.
    """
    import httpx  # noqa: PLC0415

    chunk = b"x" * 65536
    total_chunks = 200  # 12.5 MiB, far over the 1 MiB limit
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(total_chunks):
            sent += 1
            yield chunk

    app = _load("inbox_fastapi").create_app(inbox)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/hooks/paykassma_wavepay", content=body())
    assert answer.status_code == 413
    assert sent <= inbox.max_body // len(chunk) + 2


def test_flask(inbox: payplane.Inbox) -> None:
    """The Flask view: applied once, repeats acknowledged, size limit enforced."""
    app = _load("inbox_flask").create_app(inbox)
    client = app.test_client()
    first = client.post("/postbacks/paykassma_wavepay", data=storm.postback(2))
    again = client.post("/postbacks/paykassma_wavepay", data=storm.postback(2))
    huge = client.post("/postbacks/paykassma_wavepay", data=b"x" * (inbox.max_body + 1))
    assert (first.status_code, first.data) == storm.OK
    assert (again.status_code, again.data) == storm.OK
    assert huge.status_code == 413
    assert _ledger(inbox) == [(storm.event_key(2), "1002")]


def test_django() -> None:
    """The Django app's view, with the snippet's inbox: applied once through the ORM."""
    import payplane_djangokit as kit  # noqa: PLC0415
    from django.test import Client, override_settings  # noqa: PLC0415

    kit.setup()
    from payplane_djangoproject.models import Credit  # noqa: PLC0415

    kit.wipe("default")
    snippet = _load("inbox_django")
    snippet.inbox = snippet.make_inbox(Credit, storm.SETTINGS)  # type: ignore[attr-defined]
    client = Client(enforce_csrf_checks=True)
    kwargs = {"content_type": "application/json"}
    with override_settings(PAYPLANE_INBOX=f"{snippet.__name__}.inbox"):
        first = client.post("/payplane/paykassma_wavepay", storm.postback(3), **kwargs)
        again = client.post("/payplane/paykassma_wavepay", storm.postback(3), **kwargs)
        wrong_method = client.get("/payplane/paykassma_wavepay")
    assert (first.status_code, first.content) == storm.OK
    assert (again.status_code, again.content) == storm.OK
    assert wrong_method.status_code == 405
    assert kit.credit_counts("default") == {storm.event_key(3): 1}
