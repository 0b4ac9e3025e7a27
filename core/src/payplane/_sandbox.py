"""Sandbox machinery shared by every provider's emulator (private; ``payplane[sandbox]``).

A provider ships a sandbox through the ``payplane.sandboxes`` entry-point group: the name
is the provider id, the value ``"module:factory"``. ``factory(config, deliverer)`` gets a
:class:`SandboxConfig` and a :class:`Deliverer` and returns an ASGI app. The module may
also define:

* ``client_settings(base_url) -> dict``: the non-secret settings that point a client at
  the sandbox served at *base_url*;
* ``sign_postback(document, keys) -> bytes``: a signed postback body (``payplane
  postback sign``);
* ``run_demo(harness) -> None``: the scenario of ``payplane demo``.

payplane wraps the app with fault injection (:class:`FaultConfig`) and the generic
``GET /_sandbox/deliveries`` endpoint (the delivery log), serves it with uvicorn on a
loopback port in a background thread (:class:`ServerThread`), and owns the deliverer's
thread. Everything here talks to loopback addresses only. uvicorn is imported when a
server starts, so discovery and ``payplane postback sign`` work without the extra.
"""

from __future__ import annotations

import asyncio
import heapq
import importlib
import itertools
import json
import logging
import math
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import attrs
import httpx

if TYPE_CHECKING:
    import uvicorn

from payplane._secrets import Secret, to_secret
from payplane.exceptions import ConfigurationError

__all__ = [
    "CONTROL_PREFIX",
    "ENTRY_POINT_GROUP",
    "LOOPBACK_HOSTS",
    "Deliverer",
    "Delivery",
    "DeliveryCounts",
    "DeliveryPolicy",
    "FaultConfig",
    "RunningSandbox",
    "SandboxApp",
    "SandboxConfig",
    "SandboxPlugin",
    "ServerThread",
    "check_reachable",
    "load_sandbox",
    "sandbox_entry_points",
    "start_sandbox",
]

logger = logging.getLogger("payplane.sandbox")

ENTRY_POINT_GROUP = "payplane.sandboxes"
CONTROL_PREFIX = "/_sandbox/"
"""Paths under this prefix are the sandbox's own (delivery log, state): never faulted."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# -- configuration -----------------------------------------------------------------------


def _probability(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        msg = f"{attribute.name} must be a probability between 0 and 1, not {value!r}"
        raise ConfigurationError(msg, field=attribute.name)


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, int | float) and value >= 0 and math.isfinite(value)):
        msg = f"{attribute.name} must be a number >= 0, not {value!r}"
        raise ConfigurationError(msg, field=attribute.name)


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Faults injected into the sandbox's API answers, for one run.

    Each request draws one number from an RNG seeded with *seed*, so a run with the same
    seed and the same requests fails the same way.

    Attributes:
        latency_ms: Delay added before every API answer, in milliseconds.
        error_rate: Probability of a 503 answer; the request is *not* processed.
        malformed_rate: Probability that the answer's body is cut short (invalid JSON);
            the request *is* processed.
        drop_rate: Probability that the connection is dropped after the status line; the
            request *is* processed and its answer lost.
        seed: Seed of the fault RNG (``None``: a random seed).
    """

    latency_ms: float = attrs.field(default=0, validator=_non_negative)
    error_rate: float = attrs.field(default=0.0, validator=_probability)
    malformed_rate: float = attrs.field(default=0.0, validator=_probability)
    drop_rate: float = attrs.field(default=0.0, validator=_probability)
    seed: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.error_rate + self.malformed_rate + self.drop_rate > 1.0:
            msg = "error_rate + malformed_rate + drop_rate must not exceed 1"
            raise ConfigurationError(msg, field="faults")


@attrs.frozen(kw_only=True)
class DeliveryPolicy:
    """How postbacks are re-sent until the receiver accepts them.

    Exponential backoff with jitter: attempt *n* waits
    ``min(wait_max, wait_initial * 2 ** (n - 1))`` plus up to ``wait_jitter`` seconds.

    Attributes:
        attempts: Most attempts per postback, the first included.
        timeout: Give up on a postback after this many seconds in all.
        wait_initial: First backoff, in seconds.
        wait_max: Longest backoff, in seconds.
        wait_jitter: Random jitter added to each backoff, up to this many seconds.
        request_timeout: Timeout of each HTTP attempt, in seconds.
    """

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    timeout: float = attrs.field(default=30.0, validator=_non_negative)
    wait_initial: float = attrs.field(default=0.2, validator=_non_negative)
    wait_max: float = attrs.field(default=5.0, validator=_non_negative)
    wait_jitter: float = attrs.field(default=0.1, validator=_non_negative)
    request_timeout: float = attrs.field(default=5.0, validator=_non_negative)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number *attempt* (1-based)."""
        base = min(self.wait_max, self.wait_initial * 2.0 ** (attempt - 1))
        return base + rng.uniform(0, self.wait_jitter)


def _loopback(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in LOOPBACK_HOSTS:
        msg = f"the sandbox listens on loopback only (127.0.0.1, localhost, ::1), not {value!r}"
        raise ConfigurationError(msg, field=attribute.name)


def _port(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:  # noqa: PLR2004
        msg = f"{value!r} is not a port number (0-65535; 0 picks a free port)"
        raise ConfigurationError(msg, field=attribute.name)


def _postback_url(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        msg = "must be a URL string"
        raise ConfigurationError(msg, field=attribute.name)
    try:
        parts = urlsplit(value)
        host, _port_number = parts.hostname, parts.port
    except ValueError:
        msg = f"{value!r} is not a URL"
        raise ConfigurationError(msg, field=attribute.name) from None
    if parts.scheme not in {"http", "https"} or not host:
        msg = f"{value!r} is not an http(s) URL"
        raise ConfigurationError(msg, field=attribute.name)
    if host not in LOOPBACK_HOSTS:
        msg = (
            "the sandbox delivers postbacks to loopback only (127.0.0.1, localhost, ::1), "
            f"not {host!r}"
        )
        raise ConfigurationError(msg, field=attribute.name)


def _keys(values: Mapping[str, str | Secret]) -> Mapping[str, Secret]:
    return {name: to_secret(value) for name, value in values.items()}


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """One sandbox run: where it listens, where postbacks go, its keys, faults, options.

    Attributes:
        provider: The provider id (``"paykassma_wavepay"``).
        host: The loopback address to listen on.
        port: The port (0: a free one).
        postback_url: Where postbacks are delivered (loopback only), or ``None`` to only
            log them.
        keys: The provider settings' secret fields (name to value) the sandbox checks and
            signs with; never shown.
        options: Provider-specific scenario options (a starting balance...), as given.
        faults: Faults injected into API answers.
        delivery: How postbacks are re-sent.
    """

    provider: str
    host: str = attrs.field(default="127.0.0.1", validator=_loopback)
    port: int = attrs.field(default=0, validator=_port)
    postback_url: str | None = attrs.field(default=None, validator=_postback_url)
    keys: Mapping[str, Secret] = attrs.field(factory=dict, converter=_keys, repr=False)
    options: Mapping[str, object] = attrs.field(factory=dict)
    faults: FaultConfig = attrs.field(factory=FaultConfig)
    delivery: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)

    def key(self, name: str) -> str:
        """Return the value of key *name*.

        Raises:
            ConfigurationError: the key is missing or empty.
        """
        secret = self.keys.get(name)
        if not secret:
            msg = f"the {self.provider} sandbox needs the key {name!r}"
            raise ConfigurationError(msg, field=name, provider=self.provider)
        return secret.reveal()


def check_reachable(url: str, timeout: float = 1.0) -> None:
    """Check that something accepts TCP connections at *url*'s host and port.

    Raises:
        ConfigurationError: nothing listens there (names the URL and the reason).
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = f"postback URL {url} is unreachable: {reason.lower()}"
        raise ConfigurationError(msg, field="postback_url") from exc


# -- postback delivery -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Delivery:
    """One delivery attempt of a postback, as the delivery log keeps it.

    A postback the sandbox could not send (no postback URL configured) has one entry
    with attempt 0: no request was made, so it counts as no attempt.

    Attributes:
        postback: The postback's number in this run (1, 2, ...).
        label: What the postback is (for people).
        attempt: The attempt number (1-based); 0 when the postback was not sent.
        status: The HTTP status answered, or ``None`` when there was no answer.
        accepted: Whether the receiver accepted it (no more attempts follow).
        error: Why the attempt failed, or why nothing was sent.
        at: When the attempt started (UTC).
        elapsed: How long it took, in seconds.
    """

    postback: int
    label: str
    attempt: int
    status: int | None
    accepted: bool
    error: str | None
    at: datetime
    elapsed: float

    @property
    def sent(self) -> bool:
        """Whether a request was made (``False`` for a postback that was not sent)."""
        return self.attempt > 0

    def to_dict(self) -> dict[str, object]:
        """Return the entry as JSON-safe data (``sent`` included)."""
        return {
            "postback": self.postback,
            "label": self.label,
            "attempt": self.attempt,
            "sent": self.sent,
            "status": self.status,
            "accepted": self.accepted,
            "error": self.error,
            "at": self.at.isoformat(),
            "elapsed": round(self.elapsed, 4),
        }


@attrs.frozen(kw_only=True)
class DeliveryCounts:
    """What a deliverer did with the postbacks it was given, counted from its log.

    Attributes:
        postbacks: Postbacks queued for delivery.
        delivered: Postbacks the receiver accepted.
        attempts: HTTP requests made (a postback that was not sent made none).
        not_accepted: Postbacks sent at least once and never accepted (so far: one
            being retried counts until it is accepted).
        not_sent: Postbacks never sent: no postback URL was configured, or the sandbox
            stopped before their turn.
    """

    postbacks: int
    delivered: int
    attempts: int
    not_accepted: int
    not_sent: int


def _answer_text(status: int, content: bytes) -> str:
    """A refusal as people read it: the status and the start of the body, as text."""
    text = " ".join(content.decode("utf-8", errors="replace").split())
    if len(text) > 80:  # noqa: PLR2004 - enough to recognise the answer
        text = text[:79] + "…"
    return f"not accepted: HTTP {status}" + (f": {text}" if text else "")


def _accepted_2xx(status: int, _body: bytes) -> bool:
    return 200 <= status < 300  # noqa: PLR2004


Acceptance = Callable[[int, bytes], bool]


@attrs.define
class _Postback:
    number: int
    label: str
    body: bytes
    headers: Mapping[str, str]
    accepted: Acceptance


class Deliverer:
    """Delivers postbacks to one URL from a worker thread, one at a time and in order.

    A postback is POSTed until the receiver accepts it (by default any 2xx; a provider
    passes its own rule), with exponential backoff and jitter, within the policy's
    attempts and time; every attempt goes to :attr:`log`. :meth:`call_later` runs a
    callback on the same thread after a delay (a pending deposit confirmed later, a
    withdrawal completed). The thread starts with the first job.

    Args:
        url: Where postbacks go, or ``None``: nothing is sent, and each postback gets
            one delivery-log entry saying so (attempt 0, no request made).
        policy: Retry policy.
        rng: Source of the jitter (seed it for reproducible runs).
    """

    def __init__(
        self,
        url: str | None,
        policy: DeliveryPolicy | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.policy = policy or DeliveryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._jobs: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._numbers = itertools.count(1)
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._log: list[Delivery] = []
        self._submitted = 0
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"<Deliverer url={self.url!r}>"

    @property
    def log(self) -> list[Delivery]:
        """Every delivery attempt so far, oldest first (a copy)."""
        with self._cond:
            return list(self._log)

    def counts(self) -> DeliveryCounts:
        """Count what happened to every postback submitted so far (see :class:`DeliveryCounts`)."""
        with self._cond:
            log, submitted = list(self._log), self._submitted
        sent = {entry.postback for entry in log if entry.sent}
        delivered = {entry.postback for entry in log if entry.accepted}
        return DeliveryCounts(
            postbacks=submitted,
            delivered=len(delivered),
            attempts=sum(1 for entry in log if entry.sent),
            not_accepted=len(sent - delivered),
            not_sent=submitted - len(sent),
        )

    def submit(
        self,
        body: bytes,
        *,
        label: str,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
        accepted: Acceptance | None = None,
    ) -> int:
        """Queue a postback *body* for delivery after *delay* seconds; return its number."""
        # The condition's lock is re-entrant: counted only once scheduled.
        with self._cond:
            postback = _Postback(
                next(self._numbers),
                label,
                body,
                {"content-type": "application/json", **(headers or {})},
                accepted or _accepted_2xx,
            )
            self._schedule(delay, lambda: self._deliver(postback))
            self._submitted += 1
        return postback.number

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run *callback* on the delivery thread after *delay* seconds."""
        self._schedule(delay, callback)

    def _schedule(self, delay: float, job: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                msg = "the deliverer is closed"
                raise RuntimeError(msg)
            heapq.heappush(self._jobs, (time.monotonic() + delay, next(self._order), job))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="payplane-sandbox-deliverer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; return ``False`` after *timeout* s."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread: queued jobs are dropped, a running attempt is finished."""
        with self._cond:
            self._closed = True
            self._stop.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _next_job(self) -> Callable[[], None] | None:
        with self._cond:
            while not self._closed:
                if self._jobs:
                    wait = self._jobs[0][0] - time.monotonic()
                    if wait <= 0:
                        self._busy = True
                        return heapq.heappop(self._jobs)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        with httpx.Client(
            timeout=self.policy.request_timeout, trust_env=False, follow_redirects=False
        ) as http:
            self._http = http
            while (job := self._next_job()) is not None:
                try:
                    job()
                except Exception:
                    logger.exception("a sandbox job failed")
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()

    def _record(self, postback: _Postback, attempt: int, **values: Any) -> None:  # noqa: ANN401
        entry = Delivery(postback=postback.number, label=postback.label, attempt=attempt, **values)
        with self._cond:
            self._log.append(entry)

    def _deliver(self, postback: _Postback) -> None:
        if self.url is None:
            self._record(
                postback,
                0,
                status=None,
                accepted=False,
                error="not sent: no postback URL configured",
                at=datetime.now(UTC),
                elapsed=0.0,
            )
            return
        assert self._http is not None  # noqa: S101 - jobs run on the worker, which set it
        deadline = time.monotonic() + self.policy.timeout
        for attempt in range(1, self.policy.attempts + 1):
            at, started = datetime.now(UTC), time.monotonic()
            status: int | None = None
            error: str | None = None
            accepted = False
            try:
                response = self._http.post(
                    self.url, content=postback.body, headers=dict(postback.headers)
                )
                status = response.status_code
                accepted = postback.accepted(status, response.content)
                if not accepted:
                    error = _answer_text(status, response.content)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record(
                postback,
                attempt,
                status=status,
                accepted=accepted,
                error=error,
                at=at,
                elapsed=time.monotonic() - started,
            )
            logger.info(
                "postback %d (%s) attempt %d: %s",
                postback.number,
                postback.label,
                attempt,
                "accepted" if accepted else error,
            )
            if accepted or attempt == self.policy.attempts:
                return
            backoff = self.policy.backoff(attempt, self._rng)
            if time.monotonic() + backoff > deadline or self._stop.wait(backoff):
                return


# -- fault injection and the control endpoint ---------------------------------------------


class _DroppedConnection(Exception):  # noqa: N818 - not an error: a fault the sandbox injects
    """Raised after the status line to make uvicorn drop the connection."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging the injected drops as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


async def _send_simple(
    send: Send, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SandboxApp:
    """Wraps a provider's sandbox app: fault injection and ``GET /_sandbox/deliveries``.

    Args:
        app: The provider's ASGI app.
        faults: The faults of this run.
        deliverer: The deliverer whose log the control endpoint shows.
    """

    def __init__(self, app: ASGIApp, faults: FaultConfig, deliverer: Deliverer) -> None:
        self.app = app
        self.faults = faults
        self.deliverer = deliverer
        self._rng = random.Random(faults.seed)  # noqa: S311 - fault draws, not cryptography

    def _draw(self) -> str | None:
        value = self._rng.random()
        for fault, rate in (
            ("drop", self.faults.drop_rate),
            ("error", self.faults.error_rate),
            ("malformed", self.faults.malformed_rate),
        ):
            if value < rate:
                return fault
            value -= rate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == f"{CONTROL_PREFIX}deliveries":
            body = json.dumps([entry.to_dict() for entry in self.deliverer.log]).encode()
            await _send_simple(send, 200, body)
            return
        if path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = self._draw()
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "error":
            await _send_simple(send, 503, b"503 Service Unavailable (injected)", "text/plain")
        else:
            await self._after_processing(fault, scope, receive, send)

    async def _after_processing(
        self, fault: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Let the app process the request, then spoil its answer."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if fault == "malformed":
            await _send_simple(send, start.get("status", 200), body[: len(body) // 2] or b"{")
            return
        await send(start)
        raise _DroppedConnection


# -- serving ---------------------------------------------------------------------------


class ServerThread:
    """Serves an ASGI app with uvicorn on a loopback port, in a background thread.

    The socket is bound before the thread starts, so a port in use is reported at once;
    :meth:`stop` shuts the server down and joins the thread.

    Args:
        app: The ASGI app.
        host: A loopback address.
        port: The port (0: a free one).
        name: The thread's name.
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, name: str = "payplane-server"
    ) -> None:
        _loopback(None, attrs.fields(SandboxConfig).host, host)
        self.app = app
        self.host = host
        self.name = name
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port = port

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if self.host == "::1" else socket.AF_INET
        address = "127.0.0.1" if self.host == "localhost" else self.host
        # The protocol must be named: asyncio turns Nagle's algorithm off (TCP_NODELAY)
        # on an accepted connection only when the socket's ``proto`` is IPPROTO_TCP, and
        # an accepted socket inherits the listening socket's. With ``proto=0`` every
        # answer on a kept-alive connection waits ~40 ms for the peer's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self._requested_port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            reason = (exc.strerror or str(exc)).lower()
            msg = f"cannot listen on {address} port {self._requested_port}: {reason}"
            raise ConfigurationError(msg, field="port") from exc
        return sock

    def start(self, timeout: float = 10.0) -> Self:
        """Bind, start the server thread and wait until it serves.

        Raises:
            ConfigurationError: the port is in use or cannot be bound.
            RuntimeError: the server did not start within *timeout* seconds.
            ModuleNotFoundError: uvicorn is not installed (``payplane[sandbox]``).
        """
        import uvicorn  # noqa: PLC0415 - payplane[sandbox], on use: discovery needs none of it

        self._sock = self._bind()
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                msg = f"the server on {self.url} did not start"
                raise RuntimeError(msg) from self._error
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        assert self._server is not None  # noqa: S101 - set by start()
        assert self._sock is not None  # noqa: S101
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # noqa: BLE001 - reported by start() and stop()
            self._error = exc

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down and join its thread (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- discovery -------------------------------------------------------------------------


def sandbox_entry_points() -> dict[str, EntryPoint]:
    """Return the installed ``payplane.sandboxes`` entry points by provider id, sorted."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return {name: found[name] for name in sorted(found)}


@attrs.frozen
class SandboxPlugin:
    """A loaded sandbox: its factory and the module holding the optional functions.

    Attributes:
        provider: The provider id.
        factory: ``factory(config, deliverer)`` returning an ASGI app.
        module: The module the factory lives in.
    """

    provider: str
    factory: Callable[[SandboxConfig, Deliverer], ASGIApp]
    module: ModuleType

    def function(self, name: str) -> Callable[..., Any]:
        """Return the module's optional function *name*.

        Raises:
            ConfigurationError: the sandbox does not offer it.
        """
        function = getattr(self.module, name, None)
        if not callable(function):
            msg = f"the {self.provider} sandbox does not offer {name}()"
            raise ConfigurationError(msg, provider=self.provider)
        return function  # type: ignore[no-any-return]

    def client_settings(self, base_url: str) -> dict[str, object]:
        """Return the non-secret settings that point a client at *base_url*."""
        settings: dict[str, object] = self.function("client_settings")(base_url)
        return settings


def load_sandbox(provider: str) -> SandboxPlugin:
    """Load the sandbox of *provider* from its entry point.

    Raises:
        ConfigurationError: no installed sandbox for *provider* (the message lists those
            that are), or it fails to import (starlette and uvicorn come with
            ``payplane[sandbox]``).
    """
    found = sandbox_entry_points()
    entry_point = found.get(provider)
    if entry_point is None:
        listed = ", ".join(found) or "none"
        msg = f"no sandbox for provider {provider!r} is installed; sandboxes: {listed}"
        raise ConfigurationError(msg, provider=provider)
    try:
        module = importlib.import_module(entry_point.module)
        factory = entry_point.load()
    except ImportError as exc:
        msg = (
            f"the {provider} sandbox cannot be imported ({exc}); "
            'install it with: pip install "payplane[sandbox]"'
        )
        raise ConfigurationError(msg, provider=provider) from exc
    return SandboxPlugin(provider, factory, module)


class RunningSandbox:
    """A sandbox served on a loopback port; close it (or use ``with``) to stop it.

    Attributes:
        config: The run's configuration.
        plugin: The loaded sandbox.
        deliverer: Delivers the sandbox's postbacks; its ``log`` is the delivery log.
        server: The server thread.
        app: The provider's app as its factory returned it.
    """

    def __init__(
        self,
        config: SandboxConfig,
        plugin: SandboxPlugin,
        deliverer: Deliverer,
        server: ServerThread,
        app: ASGIApp,
    ) -> None:
        self.config = config
        self.plugin = plugin
        self.deliverer = deliverer
        self.server = server
        self.app = app

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.config.provider} at {self.url}>"

    @property
    def url(self) -> str:
        """The sandbox's base URL."""
        return self.server.url

    def client_settings(self) -> dict[str, object]:
        """Return complete client settings for this sandbox: its URLs and its keys."""
        settings = self.plugin.client_settings(self.url)
        settings.update({name: secret.reveal() for name, secret in self.config.keys.items()})
        return settings

    def close(self) -> None:
        """Stop the server, then the deliverer."""
        self.server.stop()
        self.deliverer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_keys(config: SandboxConfig) -> None:
    from payplane._registry import default_registry  # noqa: PLC0415 - loaded on use

    needed = default_registry().spec(config.provider).secret_fields()
    missing = [name for name in needed if not config.keys.get(name)]
    if missing:
        msg = f"the {config.provider} sandbox needs the key(s): {', '.join(missing)}"
        raise ConfigurationError(msg, field=missing[0], provider=config.provider)


def start_sandbox(config: SandboxConfig) -> RunningSandbox:
    """Load the provider's sandbox, build its app and serve it on loopback.

    Raises:
        UnknownProviderError: the provider is not installed.
        ConfigurationError: no sandbox for it, a missing key, a bad option, a port in use.
    """
    plugin = load_sandbox(config.provider)
    _check_keys(config)
    seed = config.faults.seed
    deliverer = Deliverer(
        config.postback_url,
        config.delivery,
        rng=random.Random(None if seed is None else seed + 1),  # noqa: S311
    )
    try:
        app = plugin.factory(config, deliverer)
        server = ServerThread(
            SandboxApp(app, config.faults, deliverer),
            host=config.host,
            port=config.port,
            name=f"payplane-sandbox-{config.provider}",
        ).start()
    except BaseException:
        deliverer.close()
        raise
    return RunningSandbox(config, plugin, deliverer, server, app)
