"""The postback inbox: every postback recorded, applied exactly once, acknowledged right."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import math
import traceback
from collections.abc import Callable, Mapping

from payplane._eventcodec import event_to_json
from payplane._http import PostbackAnswer, _headers
from payplane._models import PostbackEvent
from payplane._protocols import Capability, PostbackProvider
from payplane._registry import Registry, default_registry
from payplane._secrets import Redactor, secret_values
from payplane._stores import (
    InboxBusyError,
    InboxRecord,
    InboxTransaction,
    RecordState,
    RejectedPostback,
    Store,
    StoreUnavailableError,
    storable_text,
)
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    PayplaneError,
    SignatureError,
    UnsupportedCapabilityError,
)

__all__ = ["DEFAULT_MAX_BODY", "MAX_EVENT_KEY_BYTES", "Inbox"]

logger = logging.getLogger("payplane.inbox")

DEFAULT_MAX_BODY = 1024 * 1024
"""Largest postback body the receiver reads: 1 MiB."""

MAX_EVENT_KEY_BYTES = 2048
"""Longest event key recorded, in UTF-8 bytes: PostgreSQL cannot index much longer keys
(a B-tree entry holds at most about 2.7 KB), and every store must behave alike."""

_STORE_METHODS = ("record", "reject", "applying", "get", "records", "rejected", "close")

_ASYNC_HANDLER = (
    "handler: {what} cannot be an inbox handler. The inbox runs the handler inside the "
    "store's database transaction, on the thread that holds it (receive_async and "
    "postback_app use a worker thread), and must see it finish before answering the "
    "provider's 'ok'; {why}. Write a plain function, def handler(event, transaction), "
    "and write through transaction.connection; to reach async code from it, submit a "
    "coroutine to your application's loop with "
    "asyncio.run_coroutine_threadsafe(coro, loop).result() (when the inbox is served "
    "through receive_async or postback_app)."
)


def _answer(status: int, error: str) -> PostbackAnswer:
    body = json.dumps({"status": "error", "error": error}).encode()
    return PostbackAnswer(
        status_code=status, content=body, headers={"content-type": "application/json"}
    )


def _describe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - an exception whose str() fails
        return type(exc).__name__


class _Provider:
    """A provider the inbox accepts: its verifier, its redaction and its two answers."""

    def __init__(self, verifier: PostbackProvider, secrets: frozenset[str]) -> None:
        self.verifier = verifier
        self.scrub = Redactor(secrets)
        self.accepted = verifier.postback_answer(accepted=True)
        self.send_again = verifier.postback_answer(accepted=False)

    def scrub_body(self, body: bytes) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.scrub(text).encode("utf-8", "surrogateescape")

    def scrub_log(self, text: str) -> str:
        return storable_text(self.scrub(text))


# -- construction checks ------------------------------------------------------------------


def _check_store(store: object) -> Store:
    if isinstance(store, type):
        msg = (
            "store must be a store instance (e.g. SQLiteStore('inbox.db')), "
            f"not the class {store.__name__}"
        )
        raise ConfigurationError(msg, field="store")
    missing = [name for name in _STORE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        msg = (
            f"store must be an inbox store (SQLiteStore, PostgresStore, MemoryStore); "
            f"{type(store).__name__} lacks {', '.join(missing)}"
        )
        raise ConfigurationError(msg, field="store")
    return store  # type: ignore[return-value]


def _never_runs(handler: object) -> tuple[str, str] | None:
    """Say why calling *handler* would not run its body to the end, if it would not."""
    target = handler
    while isinstance(target, functools.partial):
        target = target.func
    candidates = [target]
    if not inspect.isroutine(target) and not isinstance(target, type):
        # An instance whose class defines `async def __call__`.
        candidates.append(type(target).__call__)
    for candidate in candidates:
        if inspect.iscoroutinefunction(candidate):
            return "an async function (or a callable whose __call__ is async)", (
                "called from a worker thread, an async def only creates a coroutine that "
                "nothing awaits, and running it on a loop of its own would break what it "
                "shares with your application's loop"
            )
        if inspect.isasyncgenfunction(candidate):
            return "an async generator function", "calling it runs nothing"
        if inspect.isgeneratorfunction(candidate):
            return "a generator function", "calling it runs nothing until it is iterated"
    return None


def _check_handler(handler: object) -> Callable[[PostbackEvent, InboxTransaction], object]:
    if not callable(handler):
        msg = f"handler must be callable as handler(event, transaction), not {handler!r}"
        raise ConfigurationError(msg, field="handler")
    never = _never_runs(handler)
    if never is not None:
        what, why = never
        raise ConfigurationError(_ASYNC_HANDLER.format(what=what, why=why), field="handler")
    return handler


def _check_completed(result: object) -> None:
    """Raise if the handler handed back work it did not do (a coroutine, a generator)."""
    if inspect.iscoroutine(result) or inspect.isgenerator(result):
        result.close()  # never started: closing it runs nothing and silences the warning
    elif not (inspect.isawaitable(result) or inspect.isasyncgen(result)):
        return
    msg = (
        f"the handler returned a {type(result).__name__} instead of running to its end: "
        "nothing was applied. An inbox handler must be a plain function (def, not "
        "async def) that does its work before it returns."
    )
    raise TypeError(msg)


def _check_max_body(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"max_body must be a positive int (bytes), not {value!r}"
        raise ConfigurationError(msg, field="max_body")
    return value


def _check_wait(value: object) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        msg = f"wait must be a finite, non-negative number of seconds, not {value!r}"
        raise ConfigurationError(msg, field="wait")
    return float(value)


def _unstorable_key(event_key: object) -> str | None:
    if not isinstance(event_key, str) or not event_key:
        return f"the provider gave the event key {event_key!r}: not a non-empty string"
    if "\x00" in event_key:
        return "the event key holds a NUL character, which no store can keep"
    try:
        size = len(event_key.encode("utf-8"))
    except UnicodeEncodeError:
        return "the event key holds a lone surrogate, which no store can keep"
    if size > MAX_EVENT_KEY_BYTES:
        return f"the event key is {size} bytes long, over the limit of {MAX_EVENT_KEY_BYTES}"
    return None


class Inbox:
    """Receives postbacks: verify, record durably, deduplicate, apply once, answer.

    ``receive()`` runs, for one delivery:

    1. the size limit (413 over *max_body*);
    2. the provider's verification, with header names lower-cased (400 and a
       *rejected* record on a bad signature or malformed body: nothing else happens);
    3. ``store.record``: the event is committed under ``(provider, event_key)``
       before any "ok" can be answered;
    4. a repeat of an applied event is answered "ok" at once;
    5. otherwise the event's lock is taken (waiting at most *wait* seconds; past that the
       provider is told to re-send) and, unless another worker applied it meanwhile,
       ``handler(event, transaction)`` runs and the event is marked applied in the same
       transaction;
    6. the provider's "ok" (``200 {"status":"ok"}`` for Paykassma) — or, if the handler
       raised, its "send again" answer, with the error kept on the record.

    It never raises and never answers 5xx for what a sender controls: a verified event
    that cannot be stored exactly (an event key no store can keep or index, nesting
    deeper than 64 levels) is refused with 400 and kept among the rejected deliveries.
    A failure on payplane's side (a provider's bug in verification, a database that
    cannot be reached after one retry on a fresh connection) is answered with the
    provider's "send again", so the provider re-sends once it is fixed; a body a
    provider failed to verify is also kept among the rejected deliveries.

    Exactly once holds when the handler writes through ``transaction.connection`` (SQLite
    and PostgreSQL stores): the writes and the "applied" mark commit together. A handler
    with other side effects (an HTTP call, another database) gets at least once, with
    ``event.event_key`` stable across deliveries for its own deduplication.

    The handler must be a plain function: async functions, generator functions (and
    partials or callables wrapping them) are refused when the inbox is built, and a
    handler that returns a coroutine, generator or other awaitable is treated as failed
    (its writes rolled back, the provider asked to re-send), never as applied.

    Args:
        store: Where events are recorded (:class:`SQLiteStore`, :class:`PostgresStore`,
            :class:`MemoryStore`).
        handler: Called once per distinct event, as ``handler(event, transaction)``.
        providers: Provider id to settings (a settings object or a mapping of fields).
        registry: Where providers are looked up (default: :func:`default_registry`).
        max_body: The largest body read, in bytes (a positive int).
        wait: Seconds a delivery waits for a concurrent delivery of the same event
            (finite, 0 or more).

    Raises:
        ConfigurationError: an argument is unusable; ``field`` names it.
    """

    def __init__(
        self,
        store: Store,
        handler: Callable[[PostbackEvent, InboxTransaction], object],
        *,
        providers: Mapping[str, object] | None = None,
        registry: Registry | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        wait: float = 5.0,
    ) -> None:
        self.store = _check_store(store)
        self.handler = _check_handler(handler)
        self.max_body = _check_max_body(max_body)
        self.wait = _check_wait(wait)
        self._registry = registry or default_registry()
        self._providers: dict[str, _Provider] = {}
        for provider, settings in (providers or {}).items():
            self.add_provider(provider, settings)

    def add_provider(self, provider: str, settings: object) -> None:
        """Accept postbacks of *provider*, verified with *settings*.

        Raises:
            UnknownProviderError: no such provider is installed.
            UnsupportedCapabilityError: the provider does not send postbacks.
            ConfigurationError: invalid settings.
        """
        spec, settings_obj, instance = self._registry.create_provider(provider, settings)
        if Capability.POSTBACKS not in spec.capabilities:
            raise UnsupportedCapabilityError(provider, Capability.POSTBACKS.value)
        self._providers[provider] = _Provider(instance, secret_values(settings_obj))  # type: ignore[arg-type]

    @property
    def providers(self) -> tuple[str, ...]:
        """The provider ids this inbox accepts, sorted."""
        return tuple(sorted(self._providers))

    # -- receiving ---------------------------------------------------------------------

    def receive(
        self, provider: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackAnswer:
        """Handle one delivery and return the HTTP answer to send back.

        Header names may come in any case (Flask and Django give ``X-Signature``, ASGI
        ``x-signature``): the provider receives them lower-cased.

        Never raises for anything a sender controls: every refusal is an answer.
        """
        entry = self._providers.get(provider)
        if entry is None:
            return _answer(404, f"no postbacks are accepted for provider {provider!r}")
        try:
            return self._receive(entry, provider, body, headers)
        except Exception as exc:  # noqa: BLE001 - the last line: an answer, never a 500
            self._log_failure(
                entry, logging.ERROR, f"postback for {provider} failed: asking for a re-send", exc
            )
            return entry.send_again

    async def receive_async(
        self, provider: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackAnswer:
        """Async :meth:`receive`: the store and the handler run in a worker thread."""
        return await asyncio.to_thread(self.receive, provider, body, headers)

    def _receive(  # noqa: PLR0911 - one early answer per step of the pipeline
        self,
        entry: _Provider,
        provider: str,
        body: bytes,
        headers: Mapping[str, str] | None,
    ) -> PostbackAnswer:
        if len(body) > self.max_body:
            return self._too_large(entry, provider, body, size=len(body), exact=True)
        try:
            event = entry.verifier.verify_postback(body, _headers(headers))
        except PayplaneError as exc:
            # A wrong key rejects every real postback: say so loudly. Other refusals are
            # mostly noise from whoever finds the URL.
            level = logging.WARNING if isinstance(exc, SignatureError) else logging.INFO
            return self._refuse(
                entry, provider, body, f"{type(exc).__name__}: {exc.message}", exc.message, level
            )
        except Exception as exc:  # noqa: BLE001 - a provider's bug, not the sender's fault
            return self._provider_failed(entry, provider, body, exc, "verify a postback")
        problem = _unstorable_key(event.event_key)
        if problem is not None:
            error = f"MalformedPayloadError: {problem}"
            return self._refuse(entry, provider, body, error, problem, logging.WARNING)
        try:
            event_json = event_to_json(event, scrub=entry.scrub)
        except MalformedPayloadError as exc:
            error = f"MalformedPayloadError: {exc.message}"
            return self._refuse(entry, provider, body, error, exc.message, logging.WARNING)
        except Exception as exc:  # noqa: BLE001 - an event the provider built wrongly
            return self._provider_failed(entry, provider, body, exc, "build a storable event")
        try:
            state = self.store.record(
                provider, event.event_key, entry.scrub_body(body), event_json, wait=self.wait
            )
        except InboxBusyError:
            # Not recorded, so not acknowledged: the provider sends it again.
            return entry.send_again
        except StoreUnavailableError as exc:
            self._log_failure(
                entry,
                logging.ERROR,
                f"could not record postback {provider}/{event.event_key}: asking for a re-send",
                exc,
            )
            return entry.send_again
        if state is RecordState.APPLIED or not isinstance(event, PostbackEvent):
            # A recorded event about no payment is acknowledged: no handler runs for it.
            return entry.accepted
        return self._apply(entry, provider, event)

    def _refuse_too_large(
        self, provider: str, body: bytes, *, size: int, exact: bool
    ) -> PostbackAnswer:
        """Refuse a body over the limit, of which *body* is what was read (ASGI app)."""
        entry = self._providers.get(provider)
        if entry is None:
            return _answer(404, f"no postbacks are accepted for provider {provider!r}")
        try:
            return self._too_large(entry, provider, body, size=size, exact=exact)
        except Exception as exc:  # noqa: BLE001 - the last line: an answer, never a 500
            self._log_failure(entry, logging.ERROR, f"postback for {provider} failed", exc)
            return entry.send_again

    def _too_large(
        self, entry: _Provider, provider: str, body: bytes, *, size: int, exact: bool
    ) -> PostbackAnswer:
        what = f"{size} bytes" if exact else f"at least {size} bytes"
        message = f"body of {what} is over the limit of {self.max_body} bytes"
        return self._refuse(
            entry, provider, body, f"[{provider}] {message}", message, logging.INFO, status=413
        )

    def _refuse(  # noqa: PLR0917 - private, called with the refusal's parts in order
        self,
        entry: _Provider,
        provider: str,
        body: bytes,
        error: str,
        answer: str,
        level: int,
        *,
        status: int = 400,
    ) -> PostbackAnswer:
        """Keep a refused delivery among the rejected and answer *status*.

        If it cannot be kept (the database is down), the provider is asked to send it
        again instead: a refused body the provider will not re-send must not be lost.
        """
        error = entry.scrub_log(error)
        logger.log(level, "postback for %s refused: %s", provider, error)
        if not self._keep_rejected(entry, provider, body, error):
            return entry.send_again
        return _answer(status, entry.scrub_log(answer))

    def _keep_rejected(self, entry: _Provider, provider: str, body: bytes, error: str) -> bool:
        try:
            self.store.reject(provider, entry.scrub_body(body), entry.scrub_log(error))
        except Exception as exc:  # noqa: BLE001 - answered "send again" instead
            self._log_failure(
                entry,
                logging.ERROR,
                f"could not keep a refused postback for {provider}: asking for a re-send",
                exc,
            )
            return False
        return True

    def _provider_failed(
        self, entry: _Provider, provider: str, body: bytes, exc: Exception, doing: str
    ) -> PostbackAnswer:
        # Not the sender's fault, and the body may be genuine: keep it for the operator
        # and have the provider send it again, so it is applied once the bug is fixed.
        self._log_failure(
            entry,
            logging.ERROR,
            f"provider {provider} failed to {doing}: kept among the rejected, asking for a re-send",
            exc,
        )
        self._keep_rejected(entry, provider, body, f"internal error: {_describe(exc)}")
        return entry.send_again

    def _log_failure(self, entry: _Provider, level: int, message: str, exc: BaseException) -> None:
        """Log *message* with *exc*'s traceback, both scrubbed; no exception object leaves."""
        try:
            trace = "".join(traceback.format_exception(exc))
        except Exception:  # noqa: BLE001 - a traceback that cannot be formatted
            trace = _describe(exc)
        logger.log(level, "%s\n%s", entry.scrub_log(message), entry.scrub_log(trace).rstrip())

    def _apply(
        self, entry: _Provider, provider: str, event: PostbackEvent, *, replay: bool = False
    ) -> PostbackAnswer:
        where = f"{provider}/{event.event_key}"
        for attempt in (1, 2):
            ran: list[bool] = []
            try:
                return self._apply_once(entry, provider, event, replay=replay, ran=ran)
            except InboxBusyError:
                logger.info(
                    "postback %s busy elsewhere: asking for a re-send", entry.scrub_log(where)
                )
                return entry.send_again
            except StoreUnavailableError as exc:
                # Nothing committed (or, after a lost COMMIT, the recorded state tells):
                # one more attempt on a fresh connection cannot apply the event twice.
                # An operator's replay is not repeated once its handler ran.
                if attempt == 2 or (replay and ran):  # noqa: PLR2004 - the one retry
                    self._log_failure(
                        entry,
                        logging.ERROR,
                        f"lost the database connection applying {where}: asking for a re-send",
                        exc,
                    )
                    return entry.send_again
                logger.warning(
                    "lost the database connection applying %s: trying once more",
                    entry.scrub_log(where),
                )
        raise AssertionError  # pragma: no cover - the loop returns

    def _apply_once(
        self,
        entry: _Provider,
        provider: str,
        event: PostbackEvent,
        *,
        replay: bool,
        ran: list[bool],
    ) -> PostbackAnswer:
        failure: Exception | None = None
        with self.store.applying(provider, event.event_key, wait=self.wait) as context:
            if context.state is RecordState.APPLIED and not replay:
                return entry.accepted
            ran.append(True)
            try:
                with context.savepoint():
                    _check_completed(self.handler(event, context.transaction))
            except Exception as exc:  # noqa: BLE001 - recorded, answered, not raised
                failure = exc
                context.mark_failed(entry.scrub_log(_describe(exc)))
            else:
                if replay:
                    context.mark_replayed()
                else:
                    context.mark_applied()
        if failure is not None:
            self._log_failure(
                entry,
                logging.WARNING,
                f"handler failed for {provider}/{event.event_key}: asking for a re-send",
                failure,
            )
            return entry.send_again
        try:
            self._registry.plugin_manager.hook.payplane_postback_applied(
                provider=provider, event=event, replay=replay
            )
        except Exception as exc:  # noqa: BLE001 - an observer's failure changes no answer
            self._log_failure(
                entry, logging.ERROR, "a payplane_postback_applied observer failed", exc
            )
        return entry.accepted

    # -- operations --------------------------------------------------------------------

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return the record of one event, or ``None``.

        The operations (this, :meth:`records`, :meth:`rejected`, :meth:`retry`,
        :meth:`replay`) raise :class:`ConnectionError` when the database cannot be
        reached, after one retry on a fresh connection.
        """
        return self.store.get(provider, event_key)

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return recorded events, newest first, optionally of one state or provider."""
        return self.store.records(state=state, provider=provider, limit=limit)

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries (bad signature, malformed, too large), newest first."""
        return self.store.rejected(limit=limit)

    def retry(self, provider: str, event_key: str) -> RecordState:
        """Apply a recorded event that is not applied yet (after a handler failure).

        An applied event is left alone. Returns the state afterwards.

        Raises:
            LookupError: no such record.
            ConfigurationError: the inbox does not accept that provider.
        """
        entry, record = self._recorded(provider, event_key)
        event = record.event
        if not isinstance(event, PostbackEvent):
            return record.state  # not a payment: there is nothing to apply
        if record.state is not RecordState.APPLIED:
            self._apply(entry, provider, event)
        after = self.store.get(provider, event_key)
        return RecordState.RECEIVED if after is None else after.state

    def replay(self, provider: str, event_key: str) -> bool:
        """Run the handler again for an *applied* event, on an operator's decision.

        This is the one way to apply an event twice; the record counts replays.
        Returns whether the handler completed (``False`` also when the database
        connection was lost after the handler ran: the replay count tells).

        Raises:
            LookupError: no such record.
            ValueError: the event is not applied yet (use :meth:`retry`).
        """
        entry, record = self._recorded(provider, event_key)
        if record.state is not RecordState.APPLIED:
            msg = f"{provider}/{event_key} is {record.state.value}, not applied: retry it instead"
            raise ValueError(msg)
        event = record.event
        if not isinstance(event, PostbackEvent):
            msg = f"{provider}/{event_key} is not about a payment: no handler runs for it"
            raise ValueError(msg)  # noqa: TRY004 - the documented error of replay()
        answer = self._apply(entry, provider, event, replay=True)
        return answer is entry.accepted

    def _recorded(self, provider: str, event_key: str) -> tuple[_Provider, InboxRecord]:
        entry = self._providers.get(provider)
        if entry is None:
            msg = f"this inbox does not accept provider {provider!r}"
            raise ConfigurationError(msg, provider=provider)
        record = self.store.get(provider, event_key)
        if record is None:
            msg = f"no recorded postback {provider}/{event_key}"
            raise LookupError(msg)
        return entry, record
