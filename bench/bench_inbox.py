"""Inbox throughput on SQLite and PostgreSQL, against a raw INSERT + COMMIT floor.

Each run delivers distinct, signed Wavepay deposit postbacks (Paykassma's published
example, with a fresh transaction id each) to ``Inbox.receive`` (inline mode, the
default) from 1, 4 or 16 threads, with a handler that does nothing. The floor inserts
the very row the inbox ends with (provider, account, event key, kind, state, attempts,
times, headers, the scrubbed body and the event JSON, about 12 KB) into a fresh database
made by the same store, so into the same table with the same unique key and indexes,
with one ``INSERT`` committed on its own (autocommit: one round trip), from as many
threads, at the same durability: SQLite in WAL mode with ``synchronous=FULL``,
PostgreSQL with its default ``fsync=on`` and ``synchronous_commit=on``. The floor's rows
(event JSON included) are made before its clock starts.

The inbox does more than the floor by design: it verifies and parses each body, turns
the event into its stored JSON, and runs the handler inside the one transaction that
records the event and marks it applied (PostgreSQL: a second round trip, for COMMIT).
Target: at most 1.5x the floor's time per postback at concurrency 1 and 4; 16 is
reported.

PostgreSQL figures need ``PAYPLANE_TEST_POSTGRES_DSN`` (``eval "$(.ci/postgres start
DIR)"``); without it they are skipped. They run in a schema of their own
(``payplane_bench_<pid>``), dropped afterwards: nothing else in the database is touched.
Run: ``uv run python bench/bench_inbox.py``.
"""

# A script: it prints its figures, and its keys are made up.
# ruff: noqa: INP001, T201

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from _harness import ROOT, argument_parser, figure_line, machine, main_guard

import payplane
from payplane import (
    Inbox,
    InboxTransaction,
    MemoryStore,
    OtherEvent,
    PostbackEvent,
    SQLiteStore,
)
from payplane._inbox._codec import event_to_json
from payplane_paykassma_wavepay import postback_signature

DATA = ROOT / "providers" / "paykassma_wavepay" / "tests" / "data"
PROVIDER = "paykassma_wavepay"
ACCESS, PRIVATE = "bench-access-key", "bench-private-key"
SETTINGS = {
    "api_host": "https://api.example.com",
    "pluginapi_secret": "bench-plugin-secret",
    "withdrawal_private_key": "bench-withdrawal-key",
    "postback_access_key": ACCESS,
    "postback_private_key": PRIVATE,
    "plugin_host": "https://plugin.example.com",
}
DSN_ENV = "PAYPLANE_TEST_POSTGRES_DSN"
CONCURRENCY = (1, 4, 16)
TARGETS = {1: 1.5, 4: 1.5, 16: None}

_FLOOR_INSERT = (
    "INSERT INTO payplane_postbacks (provider, account, event_key, kind, state, attempts,"
    " received_at, applied_at, headers, body, event) VALUES (?, '', ?, ?, 'applied', 1, ?, ?,"
    " '{}', ?, ?)"
)


def _php_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def postbacks(count: int, tag: str) -> list[bytes]:
    """Return *count* distinct signed deposit postbacks (Paykassma's published example, new ids)."""
    seed = json.loads((DATA / "seed_postback_deposit.json").read_text(encoding="utf-8"))
    bodies = []
    for index in range(count):
        data = json.loads(json.dumps(seed))
        data["additional_data"] = data["additional_data"][:1]
        data["additional_data"][0]["transaction_id"] = f"{tag}{index:08d}"
        # The unsigned top-level amount must agree with the one signed entry.
        data["amount"] = int(data["additional_data"][0]["amount"])
        data["access_key"] = ACCESS
        data["signature"] = postback_signature(ACCESS, PRIVATE, _php_json(data["additional_data"]))
        bodies.append(_php_json(data).encode())
    return bodies


_T = TypeVar("_T")


def _run_threads(items: Sequence[_T], threads: int, work: Callable[[_T], None]) -> float:
    """Run *work* over *items* split across *threads*; return wall seconds."""
    chunks = [items[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(chunk: Sequence[_T]) -> None:
        barrier.wait()
        try:
            for item in chunk:
                work(item)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def _noop(event: PostbackEvent, transaction: InboxTransaction) -> None:
    del event, transaction


class _Backend:
    """One database: a fresh inbox store, and a floor writing the same rows."""

    name = ""

    def store(self) -> Any:  # noqa: ANN401 - SQLiteStore or PostgresStore
        raise NotImplementedError

    def floor(self, *, transaction: bool = False) -> Callable[[Any], None]:
        """Return a function inserting one prepared row, committed alone.

        With *transaction*, each row is inside an explicit BEGIN ... COMMIT instead: the
        shape of the inbox's one transaction.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release what the runs opened."""


def _row(verify: Callable[[bytes], PostbackEvent | OtherEvent], body: bytes) -> tuple[Any, ...]:
    # The floor writes the row the inbox writes; its event JSON is made once, up front.
    event = verify(body)
    return (PROVIDER, event.event_key, event.kind.value, body, event_to_json(event))


class _SQLite(_Backend):
    name = "SQLite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runs = 0

    def store(self) -> SQLiteStore:
        self.runs += 1
        return SQLiteStore(self.directory / f"inbox-{self.runs}.db")

    def floor(self, *, transaction: bool = False) -> Callable[[Any], None]:
        self.runs += 1
        path = self.directory / f"floor-{self.runs}.db"
        SQLiteStore(path).close()  # the same table, key and indexes as the inbox's
        local = threading.local()

        def conn() -> sqlite3.Connection:
            connection: sqlite3.Connection | None = getattr(local, "conn", None)
            if connection is None:
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = FULL")
                connection.execute("PRAGMA busy_timeout = 30000")
                local.conn = connection
            return connection

        def insert(row: Any) -> None:  # noqa: ANN401 - a prepared row
            provider, key, kind, body, event = row
            now = datetime.now(UTC).isoformat()
            connection = conn()
            if transaction:  # the inbox's shape: the write lock first, one COMMIT
                connection.execute("BEGIN IMMEDIATE")
            connection.execute(_FLOOR_INSERT, (provider, key, kind, now, now, body, event))
            if transaction:
                connection.execute("COMMIT")

        return insert


class _Postgres(_Backend):
    name = "PostgreSQL"

    def __init__(self, dsn: str) -> None:
        import psycopg  # noqa: PLC0415 - only with a server
        from psycopg.conninfo import make_conninfo  # noqa: PLC0415

        self.psycopg = psycopg
        self.admin = dsn
        self.schema = f"payplane_bench_{os.getpid()}"
        self.dsn = make_conninfo(dsn, options=f"-csearch_path={self.schema}")
        self.stores: list[Any] = []
        self.connections: list[Any] = []
        self._reset()

    def _reset(self) -> None:
        with self.psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {self.schema}")

    def store(self) -> Any:  # noqa: ANN401 - PostgresStore
        for store in self.stores:
            store.close()
        self._reset()
        store = payplane.PostgresStore(self.dsn)
        self.stores.append(store)
        return store

    def floor(self, *, transaction: bool = False) -> Callable[[Any], None]:
        for store in self.stores:
            store.close()
        self._reset()
        payplane.PostgresStore(self.dsn).close()  # the same table, key and indexes
        local = threading.local()
        lock = threading.Lock()
        statement = _FLOOR_INSERT.replace("?", "%s")

        def insert(row: Any) -> None:  # noqa: ANN401 - a prepared row
            connection = getattr(local, "conn", None)
            if connection is None:
                connection = self.psycopg.connect(self.dsn, autocommit=True)
                local.conn = connection
                with lock:
                    self.connections.append(connection)
            provider, key, kind, body, event = row
            now = datetime.now(UTC)
            if transaction:  # the inbox's shape: three round trips, one COMMIT
                connection.execute("BEGIN")
            connection.execute(statement, (provider, key, kind, now, now, body, event))
            if transaction:
                connection.execute("COMMIT")

        return insert

    def close(self) -> None:
        for store in self.stores:
            store.close()
        for connection in self.connections:
            connection.close()
        with self.psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def measure(backend: _Backend, count: int, rounds: int) -> list[str]:
    """Interleave inbox and floor runs at each concurrency; return the figure lines."""
    registry = payplane.Registry()
    verifier = payplane.client(PROVIDER, SETTINGS, registry=registry)
    lines = []
    for threads in CONCURRENCY:
        inbox_times: list[float] = []
        floor_times: list[float] = []
        for index in range(rounds):
            bodies = postbacks(count, f"T{threads}R{index}")
            rows = [_row(verifier.verify_postback, body) for body in bodies]
            by_body = dict(zip(bodies, rows, strict=True))
            runs = ["floor", "inbox"] if index % 2 == 0 else ["inbox", "floor"]
            for run in runs:
                if run == "floor":
                    insert = backend.floor()

                    def write(body: bytes, i: Any = insert, rows: Any = by_body) -> None:  # noqa: ANN401
                        i(rows[body])

                    floor_times.append(_run_threads(bodies, threads, write))
                    continue
                store = backend.store()
                inbox = Inbox(store, _noop, providers={PROVIDER: SETTINGS}, registry=registry)

                def receive(body: bytes, inbox: Inbox = inbox) -> None:
                    answer = inbox.receive(PROVIDER, body)
                    if answer.status_code != 200:  # noqa: PLR2004 - HTTP OK
                        msg = f"inbox answered {answer.status_code}: {answer.content!r}"
                        raise RuntimeError(msg)

                inbox_times.append(_run_threads(bodies, threads, receive))
                store.close()
        inbox_rate = count / statistics.median(inbox_times)
        floor_rate = count / statistics.median(floor_times)
        ratios = sorted(i / f for i, f in zip(inbox_times, floor_times, strict=True))
        line = figure_line(
            f"inbox {backend.name} concurrency {threads} (postbacks/s)",
            inbox_rate,
            floor_rate,
            unit="postbacks/s",
            ratio=floor_rate / inbox_rate,
            target=TARGETS[threads],
            note=(
                f"ratio = time per postback, inbox/floor; median of {rounds} interleaved"
                f" runs of {count} postbacks; per-run ratio range {ratios[0]:.2f}-{ratios[-1]:.2f}"
            ),
        )
        print(line, flush=True)
        lines.append(line)
    verifier.close()
    return lines


def _measure_part(
    backend: _Backend,
    count: int,
    rounds: int,
    *,
    figure: str,
    tag: str,
    unit: str,
    note: str,
    candidate: Callable[[list[bytes], list[tuple[Any, ...]]], float],
) -> str:
    """Time *candidate* (given each round's bodies and floor rows) against the floor.

    One thread, runs interleaved as in :func:`measure`; returns the printed line.
    """
    verifier = payplane.client(PROVIDER, SETTINGS, registry=payplane.Registry())
    part_times: list[float] = []
    floor_times: list[float] = []
    for index in range(rounds):
        bodies = postbacks(count, f"{tag}{index}")
        rows = [_row(verifier.verify_postback, body) for body in bodies]
        runs = ["floor", "part"] if index % 2 == 0 else ["part", "floor"]
        for run in runs:
            if run == "floor":
                floor_times.append(_run_threads(rows, 1, backend.floor()))
            else:
                part_times.append(candidate(bodies, rows))
    verifier.close()
    ratios = sorted(p / f for p, f in zip(part_times, floor_times, strict=True))
    line = figure_line(
        f"inbox {backend.name} {figure} concurrency 1 ({unit})",
        count / statistics.median(part_times),
        count / statistics.median(floor_times),
        unit=unit,
        ratio=statistics.median(part_times) / statistics.median(floor_times),
        target=None,
        note=f"{note}; per-run ratio range {ratios[0]:.2f}-{ratios[-1]:.2f}",
    )
    print(line, flush=True)
    return line


def measure_shape(backend: _Backend, count: int, rounds: int) -> str:
    """The floor's row inside BEGIN ... COMMIT against the floor, one thread, interleaved.

    No inbox code runs: the ratio is what the inbox's transaction shape costs by itself,
    the part of the inbox's ratio that only a different floor could remove.
    """

    def shaped(bodies: list[bytes], rows: list[tuple[Any, ...]]) -> float:
        del bodies
        return _run_threads(rows, 1, backend.floor(transaction=True))

    return _measure_part(
        backend,
        count,
        rounds,
        figure="transaction shape",
        tag="S",
        unit="rows/s",
        note="the floor's row inside BEGIN ... COMMIT, no inbox code",
        candidate=shaped,
    )


def measure_work(backend: _Backend, count: int, rounds: int) -> str:
    """The inbox on a MemoryStore (no database at all) against the floor, one thread.

    The ratio is the inbox's own work per postback (verify, parse, the stored event,
    scrubbing, the handler's bracket) as a share of the floor's database write.
    """
    registry = payplane.Registry()

    def work(bodies: list[bytes], rows: list[tuple[Any, ...]]) -> float:
        del rows
        inbox = Inbox(MemoryStore(), _noop, providers={PROVIDER: SETTINGS}, registry=registry)

        def receive(body: bytes) -> None:
            if inbox.receive(PROVIDER, body).status_code != 200:  # noqa: PLR2004 - HTTP OK
                msg = "the in-memory inbox refused a postback"
                raise RuntimeError(msg)

        return _run_threads(bodies, 1, receive)

    return _measure_part(
        backend,
        count,
        rounds,
        figure="own work",
        tag="W",
        unit="postbacks/s",
        note="the inbox on a MemoryStore (no database) against the floor",
        candidate=work,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per figure."""
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved runs per figure (default 3)"
    )
    parser.add_argument(
        "--store", choices=["sqlite", "postgres"], help="measure one store only (default both)"
    )
    args = parser.parse_args(argv)
    count, rounds = (16, 1) if args.quick else (320, max(1, args.rounds))
    print(machine())
    print(f"inbox: {count} distinct signed postbacks per run, handler does nothing")
    if args.store != "postgres":
        with tempfile.TemporaryDirectory(prefix="payplane-bench-") as directory:
            measure(_SQLite(Path(directory)), count, rounds)
            shape = Path(directory) / "shape"
            shape.mkdir()
            measure_shape(_SQLite(shape), count, rounds)
            work = Path(directory) / "work"
            work.mkdir()
            measure_work(_SQLite(work), count, rounds)
    if args.store == "sqlite":
        return 0
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        print(f"inbox PostgreSQL: skipped ({DSN_ENV} is not set; see .ci/postgres)")
        return 0
    postgres = _Postgres(dsn)
    try:
        measure(postgres, count, rounds)
        measure_shape(postgres, count, rounds)
        measure_work(postgres, count, rounds)
    finally:
        postgres.close()
    return 0


if __name__ == "__main__":
    main_guard(main)
