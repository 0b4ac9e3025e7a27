"""docs/snippets/inbox_fastapi_sqlalchemy.py, executed: the how-to's code is what runs.

The app is driven through httpx's ASGI transport with signed Paykassma Wavepay
postbacks, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import payplane_sakit as sakit
import payplane_storm as storm
import pytest
import sqlalchemy as sa

from payplane._inbox._receiver import DEFAULT_MAX_BODY

SNIPPET = Path(__file__).resolve().parents[1] / "docs" / "snippets" / "inbox_fastapi_sqlalchemy.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_snippet_fastapi_sqlalchemy", SNIPPET)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database (the app creates its own tables)."""
    engine = sakit.make_engine(request.param, tmp_path, request)
    yield engine
    engine.dispose()


def _deposits(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT event_key, amount, currency FROM deposits ORDER BY event_key"
        ).all()
    return [(key, amount, currency) for key, amount, currency in rows]


async def test_postbacks_credited_once_through_the_orm(engine: sa.Engine) -> None:
    """Repeats, a forgery and a read: one Deposit row per event, readable by the app."""
    app = _load().create_app(engine, {"paykassma_wavepay": storm.SETTINGS})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.post("/postbacks/paykassma_wavepay", content=storm.postback(1))
        again = await client.post("/postbacks/paykassma_wavepay", content=storm.postback(1))
        forged_body = storm.postback(1).replace(b"TX00000001", b"TX00000002")
        forged = await client.post("/postbacks/paykassma_wavepay", content=forged_body)
        listed = await client.get("/customers/user-1/deposits")
    assert (first.status_code, first.content) == storm.OK
    assert (again.status_code, again.content) == storm.OK
    assert forged.status_code == 400
    assert listed.json() == [{"amount": "1001", "currency": "MMK"}]
    assert _deposits(engine) == [(storm.event_key(1), "1001", "MMK")]


async def test_a_body_over_the_limit_is_not_read_to_its_end(engine: sa.Engine) -> None:
    """A chunked body past max_body is answered 413 after max_body + 1 bytes, not all read."""
    chunk = b"x" * 65536
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(200):  # 12.5 MiB, far over the 1 MiB limit
            sent += 1
            yield chunk

    app = _load().create_app(engine, {"paykassma_wavepay": storm.SETTINGS})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/postbacks/paykassma_wavepay", content=body())
    assert answer.status_code == 413
    assert sent <= DEFAULT_MAX_BODY // len(chunk) + 2


async def test_concurrent_duplicate_postbacks(engine: sa.Engine) -> None:
    """30 events, each posted 4 times, all at once through the app: one row per event."""
    app = _load().create_app(engine, {"paykassma_wavepay": storm.SETTINGS})
    deliveries = [index for index in range(30) for _ in range(4)]
    random.Random(20261201).shuffle(deliveries)  # noqa: S311 - a reproducible shuffle
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = await asyncio.gather(
            *(
                client.post("/postbacks/paykassma_wavepay", content=storm.postback(index))
                for index in deliveries
            )
        )
    assert {(a.status_code, a.content) for a in answers} == {storm.OK}
    assert _deposits(engine) == sorted(
        (storm.event_key(i), str(1000 + i), "MMK") for i in range(30)
    )
