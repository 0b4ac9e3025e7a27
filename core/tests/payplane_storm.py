"""Duplicate-storm machinery shared by the storm and crash tests (importable by workers).

Deliveries are signed Paykassma Wavepay deposit postbacks, one distinct event per
transaction id. The handler credits through the inbox's transaction, into a ``credits``
table without any unique constraint, so a double application would show as two rows.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import payplane
from payplane import InboxTransaction, PostbackEvent
from payplane_paykassma_wavepay import postback_signature

ACCESS_KEY = "storm-access-key-0001"
PRIVATE_KEY = "storm-private-key-0001"
OK = (200, b'{"status":"ok"}')

SETTINGS: dict[str, object] = {
    "api_host": "https://api.example.com",
    "plugin_host": "https://plugin.example.com",
    "pluginapi_secret": "storm-plugin-secret-01",
    "withdrawal_private_key": "storm-withdrawal-key-01",
    "postback_access_key": ACCESS_KEY,
    "postback_private_key": PRIVATE_KEY,
}


def php_json(value: object) -> str:
    """Compact JSON with slashes and non-ASCII unescaped, as PHP's json_encode writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def postback(index: int, *, access: str = ACCESS_KEY, private: str = PRIVATE_KEY) -> bytes:
    """Return the deposit postback of event number *index*, signed with these keys."""
    transactions = [
        {
            "activated_datetime": "2023-08-01 16:37:40",
            "exchanger_identifier": None,
            "comment": "",
            "amount": str(1000 + index),
            "currency_code": "MMK",
            "wallet_type": "wavepay",
            "stockpiling_id": 10_000 + index,
            "transaction_id": f"TX{index:08d}",
            "transaction_type": 1,
            "plugin_custom_order_id": None,
            "withdrawal_id": None,
            "withdrawal_status": None,
            "account_number": "",
            "account_name": "",
            "account_email": "",
            "bank_details": {"bank_code": "", "branch_code": ""},
        }
    ]
    body = {
        "signature": postback_signature(access, private, php_json(transactions)),
        "wallet_type": "wavepay",
        "amount": 1000 + index,
        "currency_code": "MMK",
        "label": f"user-{index}",
        "converted_amount": {"USD": 0.5, "MMK": 1000 + index},
        "direction": "ingoing",
        "created_datetime": "2023-08-01 13:37:42",
        "access_key": access,
        "additional_data": transactions,
    }
    return php_json(body).encode()


def event_key(index: int) -> str:
    """The event key the provider gives postback number *index*."""
    return f"ingoing:TX{index:08d}"


class FlakyCreditor:
    """Credits each event through the inbox transaction; fails some first attempts.

    An event fails its first attempt when ``index % 10 == 0`` (10% of events). "First" is
    decided across threads and processes with an exclusively created marker file.
    """

    def __init__(self, markers: Path, *, hang_on: str | None = None) -> None:
        self.markers = markers
        self.hang_on = hang_on

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Credit *event*."""
        conn = transaction.connection
        placeholder = "?" if conn.__class__.__module__ == "sqlite3" else "%s"
        conn.execute(
            f"INSERT INTO credits (event_key, amount) VALUES ({placeholder}, {placeholder})",  # noqa: S608
            (event.event_key, str(event.amount.amount)),
        )
        if self.hang_on == event.event_key:
            (self.markers / "in-handler").touch()
            time.sleep(120)  # killed here by the crash test
        index = int(event.event_key.rsplit("TX", 1)[1])
        if index % 10 == 0:
            try:
                fd = os.open(self.markers / f"failed-{index}", os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                return
            os.close(fd)
            msg = f"injected failure of the first attempt at {event.event_key}"
            raise RuntimeError(msg)


def make_inbox(store_spec: tuple[str, str], markers: Path, **kwargs: Any) -> payplane.Inbox:
    """Build an inbox over ``("sqlite", path)`` or ``("postgres", conninfo)``."""
    kind, where = store_spec
    store: payplane.Store = (
        payplane.SQLiteStore(where) if kind == "sqlite" else payplane.PostgresStore(where)
    )
    registry = payplane.Registry(strict=True)
    return payplane.Inbox(
        store,
        FlakyCreditor(markers, **kwargs),
        providers={"paykassma_wavepay": SETTINGS},
        registry=registry,
        wait=30.0,
    )


def create_credits_table(store_spec: tuple[str, str]) -> None:
    """Create the platform's ``credits`` table next to the inbox tables."""
    kind, where = store_spec
    if kind == "sqlite":
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(where) as conn:
            conn.execute("CREATE TABLE credits (event_key TEXT NOT NULL, amount TEXT NOT NULL)")
        conn.close()
    else:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(where, autocommit=True) as pg:
            pg.execute("CREATE TABLE credits (event_key TEXT NOT NULL, amount TEXT NOT NULL)")


def credit_counts(store_spec: tuple[str, str]) -> dict[str, int]:
    """Return event key -> number of credit rows."""
    kind, where = store_spec
    sql = "SELECT event_key, COUNT(*) FROM credits GROUP BY event_key"
    if kind == "sqlite":
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(where)
        try:
            return dict(conn.execute(sql).fetchall())
        finally:
            conn.close()
    import psycopg  # noqa: PLC0415

    with psycopg.connect(where) as pg:
        return dict(pg.execute(sql).fetchall())


def deliver_until_empty(
    inbox: payplane.Inbox,
    take: Callable[[], int | None],
    put_back: Callable[[int], None],
    done: Callable[[], None],
    answers: Callable[[tuple[int, bytes]], None],
) -> None:
    """Deliver postbacks until *take* returns ``None``; re-queue every non-ok answer.

    This is what a PSP does: it re-sends until it gets 200 ``{"status":"ok"}``.
    """
    while (index := take()) is not None:
        answer = inbox.receive("paykassma_wavepay", postback(index), {})
        result = (answer.status_code, answer.content)
        answers(result)
        if result == OK:
            done()
        else:
            put_back(index)


def process_worker(
    store_spec: tuple[str, str],
    markers: str,
    work: Any,
    results: Any,
    outstanding: Any,
) -> None:
    """One storm worker process: deliver from *work* until nothing is outstanding."""
    logging.getLogger("payplane.inbox").setLevel(logging.ERROR)  # injected failures are noise
    inbox = make_inbox(store_spec, Path(markers))
    counts: dict[tuple[int, bytes], int] = {}

    def take() -> int | None:
        while True:
            with outstanding.get_lock():
                if outstanding.value == 0:
                    return None
            try:
                return int(work.get(timeout=0.05))
            except queue.Empty:
                continue

    def done() -> None:
        with outstanding.get_lock():
            outstanding.value -= 1

    def answers(result: tuple[int, bytes]) -> None:
        counts[result] = counts.get(result, 0) + 1

    deliver_until_empty(inbox, take, work.put, done, answers)
    inbox.store.close()
    results.put(counts)


def thread_storm(
    inbox: payplane.Inbox, deliveries: list[int], workers: int
) -> dict[tuple[int, bytes], int]:
    """Run *deliveries* through *workers* threads; return answer -> count."""
    work: queue.Queue[int] = queue.Queue()
    for index in deliveries:
        work.put(index)
    outstanding = [len(deliveries)]
    lock = threading.Lock()
    counts: dict[tuple[int, bytes], int] = {}

    def take() -> int | None:
        while True:
            with lock:
                if outstanding[0] == 0:
                    return None
            try:
                return work.get(timeout=0.05)
            except queue.Empty:
                continue

    def done() -> None:
        with lock:
            outstanding[0] -= 1

    def answers(result: tuple[int, bytes]) -> None:
        with lock:
            counts[result] = counts.get(result, 0) + 1

    threads = [
        threading.Thread(target=deliver_until_empty, args=(inbox, take, work.put, done, answers))
        for _ in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def hang_worker(store_spec: tuple[str, str], markers: str, index: int) -> None:
    """Deliver postback *index* with a handler that hangs mid-way (the crash test kills it)."""
    inbox = make_inbox(store_spec, Path(markers), hang_on=event_key(index))
    inbox.receive("paykassma_wavepay", postback(index), {})


# -- deferred mode ---------------------------------------------------------------------------

HANG_INDEX = 5
"""The event whose first handler attempt hangs (the storm kills the worker holding it)."""


def poison(index: int) -> bool:
    """Events whose handler fails until the operator fixes the cause (they go dead)."""
    return index % 250 == 7


class DeferredCreditor(FlakyCreditor):
    """FlakyCreditor for workers: also hangs once on HANG_INDEX, and fails poison events.

    The hanging attempt writes its process id to ``markers/hung`` first, so the storm
    knows which worker to kill; poison events fail until ``markers/fixed`` exists.
    """

    def __call__(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Credit *event* (see the class)."""
        index = int(event.event_key.rsplit("TX", 1)[1])
        if index == HANG_INDEX:
            try:
                fd = os.open(self.markers / "hung", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                conn = transaction.connection
                placeholder = "?" if conn.__class__.__module__ == "sqlite3" else "%s"
                conn.execute(
                    f"INSERT INTO credits (event_key, amount) VALUES ({placeholder}, 'hung')",  # noqa: S608
                    (event.event_key,),
                )
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                time.sleep(120)  # killed here
        if poison(index) and not (self.markers / "fixed").exists():
            msg = f"poison event {event.event_key}: the handler cannot apply it yet"
            raise RuntimeError(msg)
        super().__call__(event, transaction)


DEFERRED_BACKOFF = payplane.Backoff(initial=0.05, maximum=0.2, jitter=0.05)
DEFERRED_MAX_ATTEMPTS = 3


def make_deferred_inbox(store_spec: tuple[str, str], markers: Path) -> payplane.Inbox:
    """A deferred-mode inbox over the storm's database, its workers' handler included."""
    kind, where = store_spec
    store: payplane.Store = (
        payplane.SQLiteStore(where) if kind == "sqlite" else payplane.PostgresStore(where)
    )
    return payplane.Inbox(
        store,
        DeferredCreditor(markers),
        providers={"paykassma_wavepay": SETTINGS},
        registry=payplane.Registry(strict=True),
        mode="deferred",
        wait=30.0,
        max_attempts=DEFERRED_MAX_ATTEMPTS,
        backoff=DEFERRED_BACKOFF,
    )


def deferred_worker(store_spec: tuple[str, str], markers: str) -> None:
    """One worker process: ``Inbox.work`` until the file ``markers/stop`` exists.

    A file, not a multiprocessing Event: setting an Event waits for every process that
    waits on it, a SIGKILLed one included, forever.
    """
    logging.getLogger("payplane.inbox").setLevel(logging.CRITICAL)  # injected failures
    inbox = make_deferred_inbox(store_spec, Path(markers))
    stopping = threading.Event()
    stop_file = Path(markers) / "stop"

    def watch() -> None:
        while not stop_file.exists():
            time.sleep(0.05)
        stopping.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        inbox.work(stop=stopping, idle_wait=0.02, lease=60)
    finally:
        inbox.store.close()
