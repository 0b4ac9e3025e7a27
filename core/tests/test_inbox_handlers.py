"""What an Inbox accepts as its arguments, and a handler that does not run is never applied."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import payplane_inboxkit as kit
import pytest

import payplane
from payplane import InboxTransaction, PostbackEvent, RecordState
from payplane.exceptions import ConfigurationError


@pytest.fixture(params=kit.STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[payplane.Store]:
    """Each store in turn."""
    store = kit.make_store(request.param, tmp_path, request)
    yield store
    store.close()


async def _async_handler(event: PostbackEvent, transaction: InboxTransaction) -> None:
    del event, transaction


class _AsyncCallable:
    async def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        del event, transaction


def _generator_handler(event: PostbackEvent, transaction: InboxTransaction) -> Iterator[None]:
    yield


async def _async_generator_handler(
    event: PostbackEvent, transaction: InboxTransaction
) -> AsyncIterator[None]:
    yield


class _Handlers:
    async def method(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        del event, transaction


async def _three(event: PostbackEvent, transaction: InboxTransaction, extra: int) -> None:
    del event, transaction, extra


NEVER_RUN = {
    "async def": _async_handler,
    "async __call__": _AsyncCallable(),
    "async method": _Handlers().method,
    "partial of async def": functools.partial(_three, extra=1),
    "partial of async __call__": functools.partial(_AsyncCallable()),
    "partial of partial": functools.partial(functools.partial(_three, extra=1)),
    "generator function": _generator_handler,
    "async generator function": _async_generator_handler,
}


@pytest.mark.parametrize("handler", NEVER_RUN.values(), ids=NEVER_RUN.keys())
def test_handlers_that_would_not_run_are_refused_at_construction(
    handler: Any, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Async functions, async callables, generators and partials of them: refused, with advice."""
    with pytest.raises(ConfigurationError, match="def handler\\(event, transaction\\)") as info:
        kit.fake_inbox(payplane.MemoryStore(), registry, settings, handler)
    assert info.value.field == "handler"


def test_plain_handlers_are_accepted(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Functions, lambdas, bound methods, callable objects and partials of them are handlers."""

    class Callable:
        def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
            del event, transaction

    def three(event: PostbackEvent, transaction: InboxTransaction, extra: int) -> None:
        del event, transaction, extra

    for handler in (
        kit.Recorder(),
        lambda _event, _transaction: None,
        Callable(),
        Callable().__call__,
        functools.partial(three, extra=1),
        print,
    ):
        inbox = kit.fake_inbox(payplane.MemoryStore(), registry, settings, handler)
        assert inbox.handler is handler


async def _coroutine_result() -> None:
    return None


def _generator_result() -> Iterator[None]:
    yield


RESULTS: dict[str, Any] = {
    "coroutine": _coroutine_result,
    "generator": _generator_result,
    "future": lambda: asyncio.Future(loop=asyncio.new_event_loop()),
}


@pytest.mark.parametrize("make_result", RESULTS.values(), ids=RESULTS.keys())
def test_handler_returning_unfinished_work_is_not_applied(
    make_result: Any,
    store: payplane.Store,
    registry: payplane.Registry,
    settings: dict[str, object],
) -> None:
    """A handler that returns a coroutine, generator or future: failed, re-sent, never 'ok'."""
    returned: list[Any] = []

    def sneaky(event: PostbackEvent, transaction: InboxTransaction) -> object:
        result = make_result()
        returned.append(result)
        return result

    inbox = kit.fake_inbox(store, registry, settings, sneaky)
    answer = inbox.receive("fakepsp", *kit.delivery("d1"))
    for result in returned:
        if isinstance(result, asyncio.Future):
            result.get_loop().close()
    assert answer.status_code == 503  # FakePSP's "send again"
    record = inbox.get("fakepsp", "deposit:d1:paid")
    assert record is not None
    assert record.state is RecordState.FAILED
    assert record.last_error is not None
    assert record.last_error.startswith("TypeError: the handler returned a ")
    # The coroutine or generator was closed: it can never run later by accident.
    for result in returned:
        if not isinstance(result, asyncio.Future):
            assert inspect_closed(result)


def inspect_closed(result: Any) -> bool:
    """Whether a coroutine or generator is finished (closed)."""
    import inspect  # noqa: PLC0415

    state = (
        inspect.getcoroutinestate(result)
        if inspect.iscoroutine(result)
        else inspect.getgeneratorstate(result)
    )
    return state in {"CORO_CLOSED", "GEN_CLOSED"}


def test_unfinished_handler_writes_roll_back(
    tmp_path: Path, registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """Writes a handler made before returning a coroutine are rolled back with the failure."""
    path = tmp_path / "inbox.sqlite3"
    store = payplane.SQLiteStore(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE credits (event_key TEXT)")

    def writes_then_defers(event: PostbackEvent, transaction: InboxTransaction) -> object:
        transaction.connection.execute("INSERT INTO credits VALUES (?)", (event.event_key,))
        return _coroutine_result()

    inbox = kit.fake_inbox(store, registry, settings, writes_then_defers)
    assert inbox.receive("fakepsp", *kit.delivery("d1")).status_code == 503
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM credits").fetchone() == (0,)


class _NotAStore:
    def record(self) -> None:
        """Only one of the methods."""


BAD_ARGUMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "store None": ({"store": None}, "store"),
    "store class": ({"store": payplane.MemoryStore}, "store"),
    "store lacking methods": ({"store": _NotAStore()}, "store"),
    "store a path": ({"store": "inbox.sqlite3"}, "store"),
    "handler None": ({"handler": None}, "handler"),
    "handler a string": ({"handler": "module:function"}, "handler"),
    "max_body zero": ({"max_body": 0}, "max_body"),
    "max_body negative": ({"max_body": -1}, "max_body"),
    "max_body float": ({"max_body": 1.5}, "max_body"),
    "max_body bool": ({"max_body": True}, "max_body"),
    "max_body string": ({"max_body": "1024"}, "max_body"),
    "wait negative": ({"wait": -0.1}, "wait"),
    "wait nan": ({"wait": float("nan")}, "wait"),
    "wait infinite": ({"wait": float("inf")}, "wait"),
    "wait string": ({"wait": "5"}, "wait"),
    "wait bool": ({"wait": True}, "wait"),
}


@pytest.mark.parametrize(("arguments", "field"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_refused_naming_the_argument(
    arguments: dict[str, Any], field: str, registry: payplane.Registry
) -> None:
    """Each unusable argument is a ConfigurationError whose field and message name it."""
    given: dict[str, Any] = {"store": payplane.MemoryStore(), "handler": kit.Recorder()}
    given.update(arguments)
    with pytest.raises(ConfigurationError, match=field) as info:
        payplane.Inbox(given.pop("store"), given.pop("handler"), registry=registry, **given)
    assert info.value.field == field


def test_good_limits_accepted(registry: payplane.Registry) -> None:
    """A positive int body limit and a finite, non-negative wait (0 and ints too) are kept."""
    inbox = payplane.Inbox(
        payplane.MemoryStore(), kit.Recorder(), registry=registry, max_body=1, wait=0
    )
    assert (inbox.max_body, inbox.wait) == (1, 0.0)
