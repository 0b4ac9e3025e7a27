"""``payplane demo``: one platform, its PSPs behind one API and one inbox, offline.

The run (:class:`DemoRun`) starts, on loopback, one postback receiver (an
:class:`~payplane.Inbox` on a temporary SQLite file, served by
:func:`~payplane.postback_app` at ``/{provider}``) and a sandbox per provider delivering
to it, each with keys made up for the run and never shown. Each provider's sandbox
module supplies its scenario (``run_demo(harness)``), which drives the public client API
through a :class:`DemoHarness` and reports each step as a table; with several providers
the run ends with two steps of its own: the one inbox's account of every provider, and
each provider's postbacks refused at the others' endpoints. A row whose check fails
fails the demo. Every line fits in :data:`WIDTH` columns.
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs
import httpx

from payplane._client import Client
from payplane._inbox import (
    Inbox,
    InboxRecord,
    InboxTransaction,
    SQLiteStore,
    postback_app,
)
from payplane._models import PostbackEvent
from payplane._money import Money
from payplane._registry import default_registry
from payplane._sandbox import (
    Delivery,
    RunningSandbox,
    SandboxConfig,
    ServerThread,
    load_sandbox,
    sandbox_entry_points,
    start_sandbox,
)
from payplane._sandbox_table import render_table, shorten
from payplane._secrets import redact
from payplane.exceptions import ConfigurationError, PayplaneError

__all__ = [
    "WIDTH",
    "DemoHarness",
    "DemoRun",
    "Received",
    "Table",
    "demo_providers",
    "describe_error",
    "fit",
    "run_demo",
]

WIDTH = 99
"""Every line the demo prints fits in this many columns."""

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS demo_ledger "
    "(provider TEXT NOT NULL, event_key TEXT NOT NULL, amount TEXT NOT NULL)"
)
# Request headers that belong to the connection, not to the postback.
_TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept", "accept-encoding", "user-agent"}
)
_OK = 200


def describe_error(exc: BaseException) -> str:
    """An error as people read it: its type name and its message, on one line.

    A payplane error shows its message without the provider/operation context; any
    other exception its ``str``. Never a repr.
    """
    message = exc.message if isinstance(exc, PayplaneError) else str(exc)
    text = " ".join(message.split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def fit(line: str, width: int = WIDTH) -> list[str]:
    """Return *line* as lines of at most *width* columns.

    A longer line is wrapped at spaces, continuation lines indented two more than the
    line; a word longer than the width is cut.
    """
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(
        line.strip(),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=True,
        break_on_hyphens=False,
    )


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
        """Add a paragraph of explanation under the table (wrapped to fit)."""
        self.notes.append(text)

    def fail(self, text: str) -> None:
        """Record a failure that is not a row."""
        self.failures.append(text)

    def lines(self, width: int = WIDTH) -> list[str]:
        """Return the step as text, every line at most *width* columns."""
        out = fit(f"Step {self.number}. {self.title}", width)
        if self.rows:
            table = render_table([*self.columns, "check"], self.rows, max_width=width - 2)
            out += ["  " + line for line in table]
        for note in self.notes:
            out += textwrap.wrap(
                note,
                width=width,
                initial_indent="  ",
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        for failure in self.failures:
            out += fit(f"  FAILED: {failure}", width)
        return out


@attrs.frozen
class Received:
    """A postback the receiver got: for whom, the body and headers, and its answer."""

    provider: str
    body: bytes
    headers: Mapping[str, str]
    status: int


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Any]


class _Tap:
    """Wraps the receiver's ASGI app: keeps each POST's body, headers and answer status."""

    def __init__(self, app: ASGIApp, keep: Callable[[Received], None]) -> None:
        self.app = app
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # noqa: ANN401
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status: list[int] = []

        async def tapped_receive() -> Any:  # noqa: ANN401 - an ASGI message
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def tapped_send(message: Any) -> None:  # noqa: ANN401 - an ASGI message
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, tapped_receive, tapped_send)
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        provider = scope["path"].strip("/").partition("/")[0]
        self.keep(Received(provider, b"".join(chunks), headers, status[0] if status else 0))


@attrs.define
class _Part:
    """One provider of the run: its sandbox, its client settings, a client to verify with."""

    provider: str
    display_name: str
    keys: dict[str, str]
    sandbox: RunningSandbox
    settings: dict[str, object]
    verifier: Client


class DemoRun:
    """The running demo: one receiver and inbox, a sandbox per provider, the steps.

    Args:
        providers: The provider ids (each with an installed sandbox).
        echo: Where lines of output go.
    """

    def __init__(self, providers: Sequence[str], echo: Callable[[str], None]) -> None:
        if not providers:
            msg = "the demo needs at least one provider"
            raise ConfigurationError(msg)
        self.providers = tuple(dict.fromkeys(providers))
        self._echo = echo
        self.tables: list[Table] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._applied: list[PostbackEvent] = []
        self._received: list[Received] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="payplane-demo-")
        self.db_path = Path(self._tmp.name) / "inbox.sqlite3"
        self._store: SQLiteStore | None = None
        self._receiver: ServerThread | None = None
        self._parts: dict[str, _Part] = {}
        self._http: httpx.Client | None = None
        self._stack = ExitStack()

    def __repr__(self) -> str:
        return f"<DemoRun {', '.join(self.providers)}>"

    # -- set-up ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the receiver and a sandbox per provider; make up their keys.

        If anything fails to start, whatever did start is stopped and the temporary
        files are deleted before the error propagates.
        """
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> Self:
        registry = default_registry()
        specs = {provider: registry.spec(provider) for provider in self.providers}
        with sqlite3.connect(self.db_path) as conn:
            conn.execute(_LEDGER)
        conn.close()
        self._store = SQLiteStore(self.db_path)
        self.inbox = Inbox(self._store, self._handle)
        app = _Tap(postback_app(self.inbox), self._keep)
        self._receiver = ServerThread(app, name="payplane-demo-receiver").start()
        for provider, spec in specs.items():
            keys = {name: secrets.token_hex(16) for name in spec.secret_fields()}
            sandbox = start_sandbox(
                SandboxConfig(
                    provider=provider,
                    postback_url=f"{self._receiver.url}/{provider}",
                    keys=keys,
                )
            )
            self._stack.callback(sandbox.close)
            settings = sandbox.client_settings()
            self.inbox.add_provider(provider, settings)
            verifier = registry.client(provider, settings)
            self._stack.callback(verifier.close)
            self._parts[provider] = _Part(
                provider, spec.display_name, keys, sandbox, settings, verifier
            )
        self._http = httpx.Client(timeout=5.0, trust_env=False)
        return self

    def close(self) -> None:
        """Stop everything and delete the temporary files."""
        if self._http is not None:
            self._http.close()
        self._stack.close()
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

    def harness(self, provider: str) -> DemoHarness:
        """The view of the run that *provider*'s scenario gets."""
        return DemoHarness(self, provider)

    def part(self, provider: str) -> _Part:
        """The running part of *provider*."""
        return self._parts[provider]

    @property
    def receiver_url(self) -> str:
        """The receiver's base URL (postbacks go to ``/{provider}`` under it)."""
        assert self._receiver is not None, "start() the run first"  # noqa: S101
        return self._receiver.url

    # -- the handler and the receiver ----------------------------------------------------

    def _handle(self, event: PostbackEvent, transaction: InboxTransaction) -> None:
        # The ledger row commits with the inbox's "applied" mark: exactly once.
        transaction.connection.execute(
            "INSERT INTO demo_ledger (provider, event_key, amount) VALUES (?, ?, ?)",
            (event.provider, event.event_key, str(event.amount)),
        )
        with self._lock:
            self._calls[event.provider, event.event_key] += 1
            self._applied.append(event)

    def _keep(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def handler_runs(self, provider: str, event_key: str) -> int:
        """How many times the handler ran for *provider*'s *event_key*."""
        with self._lock:
            return self._calls[provider, event_key]

    def applied(self, provider: str) -> list[PostbackEvent]:
        """The events the handler applied for *provider*, in order."""
        with self._lock:
            return [event for event in self._applied if event.provider == provider]

    def received(self, provider: str) -> list[Received]:
        """Every postback the receiver got at ``/{provider}``, in order."""
        with self._lock:
            return [r for r in self._received if r.provider == provider]

    def deliveries_of(self, provider: str) -> Counter[str]:
        """How many accepted deliveries the receiver got of each event key of *provider*.

        Each body is verified again with *provider*'s verifier to learn its event key.
        """
        verifier = self._parts[provider].verifier
        counts: Counter[str] = Counter()
        for received in self.received(provider):
            if received.status == _OK:
                event = verifier.verify_postback(received.body, received.headers)
                counts[event.event_key] += 1
        return counts

    def ledger_rows(self, provider: str, event_key: str) -> int:
        """How many ledger rows the handler committed for *provider*'s *event_key*."""
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM demo_ledger WHERE provider = ? AND event_key = ?",
                (provider, event_key),
            ).fetchone()
        conn.close()
        return int(row[0])

    def post(self, provider: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST *body* with *headers* to the receiver's ``/{provider}``; return the status."""
        assert self._http is not None  # noqa: S101
        sent = {k: v for k, v in headers.items() if k.lower() not in _TRANSPORT_HEADERS}
        answer = self._http.post(f"{self.receiver_url}/{provider}", content=body, headers=sent)
        return answer.status_code

    def get(self, url: str) -> httpx.Response:
        """GET *url* (a sandbox page) and return the answer."""
        assert self._http is not None  # noqa: S101
        return self._http.get(url)

    # -- output ----------------------------------------------------------------------------

    def echo(self, text: str = "") -> None:
        """Print a line (wrapped to :data:`WIDTH`), every key of the run redacted."""
        keys = [key for part in self._parts.values() for key in part.keys.values()]
        for line in fit(redact(text, keys)):
            self._echo(line)

    @contextmanager
    def step(self, title: str, columns: Sequence[str]) -> Iterator[Table]:
        """Open a step's table; it is printed when the block ends.

        An exception in the block fails the step (shown as its type and message on one
        line); the demo goes on with the next step.
        """
        table = Table(len(self.tables) + 1, title, list(columns))
        self.tables.append(table)
        try:
            yield table
        except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
            table.fail(describe_error(exc))
        for line in table.lines():
            self.echo(line)
        self.echo()

    @property
    def failures(self) -> list[str]:
        """Every failed check, as ``"step N (title): what"``, then errors outside steps."""
        return [
            f"step {table.number} ({table.title}): {failure}"
            for table in self.tables
            for failure in table.failures
        ] + self.errors

    # -- the run ---------------------------------------------------------------------------

    def introduce(self) -> None:
        """Print what runs where."""
        names = [self._parts[p].display_name for p in self.providers]
        if len(names) == 1:
            self.echo(f"payplane demo: {names[0]}, offline, against its sandbox")
        else:
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            self.echo(f"payplane demo: one platform, {listed} behind one API and one inbox")
        width = max(len(name) for name in [*names, "receiver"])
        for provider, name in zip(self.providers, names, strict=True):
            self.echo(f"  {name.ljust(width)}  sandbox {self._parts[provider].sandbox.url}")
        where = "one inbox on a temporary SQLite file"
        self.echo(f"  {'receiver'.ljust(width)}  {self.receiver_url}/PROVIDER ({where})")
        per = ", one set per provider" if len(names) > 1 else ""
        self.echo(f"  {'keys'.ljust(width)}  made up for this run{per} (not shown)")
        self.echo("  offline: every address above is on this machine")
        self.echo()

    def run_part(self, provider: str) -> None:
        """Run *provider*'s scenario; an error outside its steps fails the demo."""
        part = self._parts[provider]
        self.echo(f"== {part.display_name} ==")
        self.echo()
        try:
            part.sandbox.plugin.function("run_demo")(self.harness(provider))
        except Exception as exc:  # noqa: BLE001 - reported as a failure, the demo goes on
            self.errors.append(f"{part.display_name}: {describe_error(exc)}")

    def one_inbox(self) -> None:
        """The step that shows every provider's postbacks in the one inbox, applied once."""
        columns = ["provider", "currency", "deliveries", "events", "applied", "repeats"]
        with self.step("One inbox for every provider: each event applied once", columns) as t:
            for provider in self.providers:
                part = self._parts[provider]
                events = self.applied(provider)
                keys = {event.event_key for event in events}
                delivered = self.deliveries_of(provider)
                currencies = sorted({event.amount.currency for event in events})
                once = all(
                    self.handler_runs(provider, key) == 1 and self.ledger_rows(provider, key) == 1
                    for key in keys
                )
                t.row(
                    part.display_name,
                    ", ".join(currencies) or "-",
                    sum(delivered.values()),
                    len(keys),
                    "each once" if once else "NOT once",
                    sum(delivered.values()) - len(keys),
                    ok=once and bool(keys) and set(delivered) == keys,
                )
            t.note(
                "Deliveries: postbacks the receiver accepted; events: distinct event keys. Each "
                "event ran the handler once and left one ledger row, committed with the inbox's "
                "'applied' mark; every repeat was acknowledged without running the handler."
            )

    def own_keys(self) -> None:
        """The step that posts each provider's postback to another's endpoint: refused."""
        columns = ["postback", "sent to", "answer"]
        with self.step("Each provider's postbacks verified with its own keys", columns) as t:
            before = sum(len(self.applied(p)) for p in self.providers)
            for index, provider in enumerate(self.providers):
                other = self.providers[(index + 1) % len(self.providers)]
                name = self._parts[provider].display_name
                sample = next((r for r in self.received(provider) if r.status == _OK), None)
                if sample is None:
                    t.fail(f"no postback of {name} reached the receiver")
                    continue
                status = self.post(other, sample.body, sample.headers)
                refused = 400 <= status < 500  # noqa: PLR2004 - a client error: refused
                t.row(f"a {name} postback", f"/{other}", f"HTTP {status}, refused", ok=refused)
                status = self.post(provider, sample.body, sample.headers)
                t.row(
                    "the same, once more",
                    f"/{provider}",
                    f"HTTP {status}, a repeat",
                    ok=status == _OK,
                )
            after = sum(len(self.applied(p)) for p in self.providers)
            if after != before:
                t.fail(f"the handler ran {after - before} more time(s)")
            t.note(
                "The inbox verifies a postback with the keys of the provider whose endpoint it "
                "reaches: another provider's signed postback is refused (and kept among the "
                "rejected deliveries); a repeat is acknowledged without running the handler."
            )


class DemoHarness:
    """What a provider's demo scenario gets: its sandbox and settings, the shared inbox.

    Args:
        run: The running demo.
        provider: The provider id.
    """

    def __init__(self, run: DemoRun, provider: str) -> None:
        self.run = run
        self.provider = provider
        self._part = run.part(provider)

    def __repr__(self) -> str:
        return f"<DemoHarness {self.provider}>"

    @property
    def sandbox(self) -> RunningSandbox:
        """The provider's running sandbox."""
        return self._part.sandbox

    @property
    def settings(self) -> dict[str, object]:
        """Client settings for the sandbox: its URLs and the run's keys."""
        return self._part.settings

    @property
    def sandbox_url(self) -> str:
        """The sandbox's base URL."""
        return self.sandbox.url

    @property
    def receiver_url(self) -> str:
        """Where the sandbox delivers postbacks."""
        return self.sandbox.config.postback_url or ""

    def record(self, event_key: str) -> InboxRecord | None:
        """The inbox's record of *event_key*."""
        return self.run.inbox.get(self.provider, event_key)

    def handler_runs(self, event_key: str) -> int:
        """How many times the handler ran for *event_key*."""
        return self.run.handler_runs(self.provider, event_key)

    def ledger_rows(self, event_key: str) -> int:
        """How many ledger rows the handler committed for *event_key*."""
        return self.run.ledger_rows(self.provider, event_key)

    def applied(self) -> list[PostbackEvent]:
        """The events the handler applied for this provider, in order."""
        return self.run.applied(self.provider)

    def delivered(self, event_key: str) -> int:
        """How many deliveries of *event_key* the receiver accepted."""
        return self.run.deliveries_of(self.provider)[event_key]

    def wait_for_postbacks(self, timeout: float = 10.0) -> bool:
        """Wait until the sandbox has nothing left to deliver or do."""
        return self.sandbox.deliverer.wait_idle(timeout)

    def deliveries(self) -> list[Delivery]:
        """The sandbox's delivery log so far."""
        return self.sandbox.deliverer.log

    def get(self, url: str) -> httpx.Response:
        """GET *url* (a sandbox page) and return the answer."""
        return self.run.get(url)

    def get_json(self, path: str) -> Any:  # noqa: ANN401 - whatever the sandbox shows
        """GET the sandbox's *path* (``/_sandbox/state``) and return its JSON."""
        return self.get(f"{self.sandbox_url}{path}").json()

    def echo(self, text: str = "") -> None:
        """Print a line (see :meth:`DemoRun.echo`)."""
        self.run.echo(text)

    def step(self, title: str, columns: Sequence[str]) -> Any:  # noqa: ANN401 - a context manager
        """Open a step's table (see :meth:`DemoRun.step`)."""
        return self.run.step(title, columns)

    @staticmethod
    def money(amount: Money) -> str:
        """*amount* as the demo shows it: ``INR 500.00``."""
        return f"{amount.currency} {amount.amount}"

    @staticmethod
    def shorten(text: str, width: int) -> str:
        """*text* cut to *width* characters (see :func:`payplane._sandbox_table.shorten`)."""
        return shorten(text, width)


def demo_providers() -> list[str]:
    """The installed providers whose sandbox offers a demo (``run_demo``), by id."""
    found = []
    for provider in sandbox_entry_points():
        try:
            plugin = load_sandbox(provider)
        except ConfigurationError:
            continue
        if callable(getattr(plugin.module, "run_demo", None)):
            found.append(provider)
    return found


def run_demo(providers: str | Sequence[str] | None, echo: Callable[[str], None]) -> int:
    """Run the demo; return the exit code (0: every step behaved as documented).

    Args:
        providers: A provider id, several, or ``None`` for every installed provider
            whose sandbox offers a demo (:func:`demo_providers`).
        echo: Where lines of output go.

    Raises:
        ConfigurationError: no sandbox, or no demo, for a provider; no demo at all.
    """
    started = time.perf_counter()
    if providers is None:
        chosen = demo_providers()
        if not chosen:
            msg = "no installed provider's sandbox offers a demo"
            raise ConfigurationError(msg)
    else:
        chosen = [providers] if isinstance(providers, str) else list(providers)
    for provider in chosen:
        load_sandbox(provider).function("run_demo")
    with DemoRun(chosen, echo) as run:
        run.introduce()
        for provider in run.providers:
            run.run_part(provider)
        if len(run.providers) > 1:
            run.echo("== One inbox ==")
            run.echo()
            run.one_inbox()
            run.own_keys()
        failures = run.failures
        steps = len(run.tables)
    elapsed = time.perf_counter() - started
    if failures:
        for failure in failures:
            for line in fit(f"FAILED: {failure}"):
                echo(line)
        echo(f"{len(failures)} check(s) failed ({steps} steps, {elapsed:.1f} s)")
        return 1
    echo(f"All {steps} steps behaved as documented ({elapsed:.1f} s).")
    return 0
