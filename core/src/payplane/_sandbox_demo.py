"""``payplane demo``: a provider's whole lifecycle against its sandbox, offline.

The harness starts, on loopback, a postback receiver (an :class:`~payplane.Inbox` on a
temporary SQLite file, served by :func:`~payplane.postback_app`) and the provider's
sandbox delivering to it, with keys made up for the run and never shown. The provider's
sandbox module supplies the scenario (``run_demo(harness)``), which drives the public
client API and reports each step as a table; a row whose check fails fails the demo.
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs
import httpx

from payplane._inbox import (
    Inbox,
    InboxRecord,
    InboxTransaction,
    SQLiteStore,
    postback_app,
)
from payplane._models import PostbackEvent
from payplane._registry import default_registry
from payplane._sandbox import Delivery, RunningSandbox, SandboxConfig, ServerThread, start_sandbox
from payplane._sandbox_table import render_table
from payplane._secrets import redact

__all__ = ["DemoHarness", "Table", "run_demo"]

_LEDGER = "CREATE TABLE IF NOT EXISTS demo_ledger (event_key TEXT NOT NULL, amount TEXT NOT NULL)"


@attrs.define
class Table:
    """The table of one demo step; rows carry a check that passed (``ok``) or not."""

    number: int
    title: str
    columns: list[str]
    rows: list[list[str]] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    failures: list[str] = attrs.field(factory=list)

    def row(self, *cells: object, ok: bool = True) -> None:
        """Add a row; its last column says ``ok`` or ``FAIL``."""
        text = [str(cell) for cell in cells]
        self.rows.append([*text, "ok" if ok else "FAIL"])
        if not ok:
            self.failures.append(" | ".join(text))

    def note(self, text: str) -> None:
        """Add a line of explanation under the table."""
        self.notes.append(text)

    def fail(self, text: str) -> None:
        """Record a failure that is not a row."""
        self.failures.append(text)

    def lines(self) -> list[str]:
        """Return the step as text."""
        out = [f"Step {self.number}. {self.title}"]
        if self.rows:
            out += ["  " + line for line in render_table([*self.columns, "check"], self.rows)]
        out += [f"  {note}" for note in self.notes]
        out += [f"  FAILED: {failure}" for failure in self.failures]
        return out


class DemoHarness:
    """The running demo: sandbox, receiver, inbox, and the steps' tables.

    Args:
        provider: The provider id.
        echo: Where lines of output go.
    """

    def __init__(self, provider: str, echo: Callable[[str], None]) -> None:
        self.provider = provider
        self._echo = echo
        self.tables: list[Table] = []
        self._calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="payplane-demo-")
        self.db_path = Path(self._tmp.name) / "inbox.sqlite3"
        self._store: SQLiteStore | None = None
        self._receiver: ServerThread | None = None
        self._sandbox: RunningSandbox | None = None
        self._http: httpx.Client | None = None
        self._keys: dict[str, str] = {}
        self.settings: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<DemoHarness {self.provider}>"

    # -- set-up ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the receiver and the sandbox; make up the keys.

        If anything fails to start, whatever did start is stopped and the temporary
        files are deleted before the error propagates.
        """
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> Self:
        spec = default_registry().spec(self.provider)
        self._keys = {name: secrets.token_hex(16) for name in spec.secret_fields()}
        with sqlite3.connect(self.db_path) as conn:
            conn.execute(_LEDGER)
        conn.close()
        self._store = SQLiteStore(self.db_path)
        self.inbox = Inbox(self._store, self._handle)
        self._receiver = ServerThread(
            postback_app(self.inbox), name="payplane-demo-receiver"
        ).start()
        self._sandbox = start_sandbox(
            SandboxConfig(
                provider=self.provider,
                postback_url=f"{self._receiver.url}/{self.provider}",
                keys=self._keys,
            )
        )
        self.settings = self._sandbox.client_settings()
        self.inbox.add_provider(self.provider, self.settings)
        self._http = httpx.Client(timeout=5.0, trust_env=False)
        return self

    def close(self) -> None:
        """Stop everything and delete the temporary files."""
        if self._http is not None:
            self._http.close()
        if self._sandbox is not None:
            self._sandbox.close()
        if self._receiver is not None:
            self._receiver.stop()
        if self._store is not None:
            self._store.close()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def sandbox(self) -> RunningSandbox:
        """The running sandbox."""
        assert self._sandbox is not None, "start() the harness first"  # noqa: S101
        return self._sandbox

    @property
    def sandbox_url(self) -> str:
        """The sandbox's base URL."""
        return self.sandbox.url

    @property
    def receiver_url(self) -> str:
        """Where the sandbox delivers postbacks."""
        return self.sandbox.config.postback_url or ""

    # -- the handler ---------------------------------------------------------------------

    def _handle(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        # The ledger row commits with the inbox's "applied" mark: exactly once.
        transaction.connection.execute(
            "INSERT INTO demo_ledger (event_key, amount) VALUES (?, ?)",
            (event.event_key, str(event.amount)),
        )
        with self._calls_lock:
            self._calls[event.event_key] += 1

    def handler_runs(self, event_key: str) -> int:
        """How many times the handler ran for *event_key*."""
        with self._calls_lock:
            return self._calls[event_key]

    def ledger_rows(self, event_key: str) -> int:
        """How many ledger rows the handler committed for *event_key*."""
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM demo_ledger WHERE event_key = ?", (event_key,)
            ).fetchone()
        conn.close()
        return int(row[0])

    def record(self, event_key: str) -> InboxRecord | None:
        """The inbox's record of *event_key*."""
        return self.inbox.get(self.provider, event_key)

    # -- the sandbox ---------------------------------------------------------------------

    def wait_for_postbacks(self, timeout: float = 10.0) -> bool:
        """Wait until the sandbox has nothing left to deliver or do."""
        return self.sandbox.deliverer.wait_idle(timeout)

    def deliveries(self) -> list[Delivery]:
        """The sandbox's delivery log so far."""
        return self.sandbox.deliverer.log

    def get(self, url: str) -> httpx.Response:
        """GET *url* (a sandbox page) and return the answer."""
        assert self._http is not None  # noqa: S101
        return self._http.get(url)

    def get_json(self, path: str) -> Any:  # noqa: ANN401 - whatever the sandbox shows
        """GET the sandbox's *path* (``/_sandbox/state``) and return its JSON."""
        return self.get(f"{self.sandbox_url}{path}").json()

    # -- output ----------------------------------------------------------------------------

    def echo(self, text: str = "") -> None:
        """Print a line, with every key of the run redacted (a safety net)."""
        self._echo(redact(text, self._keys.values()))

    @contextmanager
    def step(self, title: str, columns: Sequence[str]) -> Iterator[Table]:
        """Open a step's table; it is printed when the block ends.

        An exception in the block fails the step (and is shown in one line); the demo
        goes on with the next step.
        """
        table = Table(len(self.tables) + 1, title, list(columns))
        self.tables.append(table)
        try:
            yield table
        except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
            table.fail(f"{type(exc).__name__}: {exc}")
        for line in table.lines():
            self.echo(line)
        self.echo()

    @property
    def failures(self) -> list[str]:
        """Every failed check, as ``"step N (title): what"``."""
        return [
            f"step {table.number} ({table.title}): {failure}"
            for table in self.tables
            for failure in table.failures
        ]


def run_demo(provider: str, echo: Callable[[str], None]) -> int:
    """Run the demo of *provider*; return the exit code (0: every step as documented).

    Raises:
        ConfigurationError: no sandbox, or no demo, for *provider*.
    """
    started = time.perf_counter()
    with DemoHarness(provider, echo) as harness:
        scenario = harness.sandbox.plugin.function("run_demo")
        harness.echo(f"payplane demo: {provider}, offline, against its sandbox")
        harness.echo(f"  sandbox   {harness.sandbox_url}")
        harness.echo(f"  receiver  {harness.receiver_url} (inbox on a temporary SQLite file)")
        harness.echo("  keys      made up for this run (not shown)")
        harness.echo()
        scenario(harness)
        failures = harness.failures
        steps = len(harness.tables)
    elapsed = time.perf_counter() - started
    if failures:
        for failure in failures:
            echo(f"FAILED: {failure}")
        echo(f"{len(failures)} check(s) failed ({steps} steps, {elapsed:.1f} s)")
        return 1
    echo(f"All {steps} steps behaved as documented ({elapsed:.1f} s).")
    return 0
