"""The postback inbox: every postback recorded, applied exactly once, acknowledged right."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import math
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeGuard

from payplane._http import PostbackAnswer, _headers
from payplane._inbox._codec import event_from_dict, event_to_json
from payplane._inbox._hooks import InboxHooks, RunHooks, note, verified
from payplane._inbox._store import (
    ApplyContext,
    EventRef,
    InboxBusyError,
    InboxRecord,
    InboxTransaction,
    NewRecord,
    PruneResult,
    RecordState,
    RejectedPostback,
    Store,
    StoreUnavailableError,
    _positive_seconds,
    headers_json,
    storable_text,
)
from payplane._inbox._workers import Backoff, WorkSummary
from payplane._models import OtherEvent, PostbackEvent
from payplane._protocols import Capability, PostbackProvider
from payplane._registry import Registry, default_registry
from payplane._secrets import Redactor, secret_values
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    PayloadTooLargeError,
    PayplaneError,
    SignatureError,
    UnsupportedCapabilityError,
)

__all__ = ["DEFAULT_MAX_BODY", "MAX_EVENT_KEY_BYTES", "Inbox", "Mode", "OnRecorded"]

logger = logging.getLogger("payplane.inbox")

DEFAULT_MAX_BODY = 1024 * 1024
"""Largest postback body the receiver reads: 1 MiB."""

MAX_EVENT_KEY_BYTES = 2048
"""Longest event key recorded, in UTF-8 bytes: PostgreSQL cannot index much longer keys
(a B-tree entry holds at most about 2.7 KB), and every store must behave alike."""

_STORE_METHODS = (
    "record",
    "reject",
    "applying",
    "claim",
    "get",
    "records",
    "rejected",
    "requeue",
    "due",
    "prune",
    "close",
)

ACCOUNT_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
"""A merchant account id: 1 to 64 of lower-case ASCII letters, digits, ``_`` and ``-``."""

OnRecorded = Callable[[str, str, str], object]
"""``on_recorded(provider, account, event_key)``: a newly recorded event, to hand off."""

_SETTLED = (RecordState.APPLIED, RecordState.IGNORED)

Mode = Literal["inline", "deferred"]
"""Where the handler runs: in the delivery's request, or in workers."""

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
    """A provider account the inbox accepts: verifier, redaction, answers, kept headers."""

    def __init__(self, verifier: PostbackProvider, secrets: frozenset[str]) -> None:
        self.verifier = verifier
        self.scrub = Redactor(secrets)
        self.accepted = verifier.postback_answer(accepted=True)
        self.send_again = verifier.postback_answer(accepted=False)
        # Issue 11: a provider names the headers it needs to verify a delivery again.
        wanted: Iterable[object] = getattr(verifier, "postback_headers", None) or ()
        self.kept_headers = frozenset(str(name).lower() for name in wanted)

    def scrub_body(self, body: bytes) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.scrub(text).encode("utf-8", "surrogateescape")

    def scrub_log(self, text: str) -> str:
        return storable_text(self.scrub(text))

    def headers_json(self, headers: Mapping[str, str]) -> str:
        """The kept headers of a delivery (names already lower-case), scrubbed, as JSON."""
        if not self.kept_headers:
            return "{}"
        return headers_json(
            {
                name: self.scrub_log(value)
                for name, value in headers.items()
                if name in self.kept_headers
            }
        )


_NO_PROVIDER = _Provider.__new__(_Provider)
_NO_PROVIDER.scrub = Redactor(())
_NO_PROVIDER.kept_headers = frozenset()


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


def _rejection_reason(exc: PayplaneError) -> str:
    """The reason class of a refused verification (``payplane.hookspecs.REJECTION_REASONS``)."""
    if isinstance(exc, SignatureError):
        return "signature"
    return "too_large" if isinstance(exc, PayloadTooLargeError) else "malformed"


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


def _check_account(account: object) -> str:
    if account == "":
        return ""
    if not isinstance(account, str) or ACCOUNT_PATTERN.fullmatch(account) is None:
        msg = (
            "account must be '' (the provider's one account) or 1 to 64 of a-z, 0-9, "
            f"'_' and '-', not {account!r}"
        )
        raise ConfigurationError(msg, field="account")
    return account


def _check_mode(mode: object) -> Mode:
    if mode == "inline":
        return "inline"
    if mode == "deferred":
        return "deferred"
    msg = f"mode must be 'inline' or 'deferred', not {mode!r}"
    raise ConfigurationError(msg, field="mode")


def _check_positive_int(value: object, field: str, *, most: int | None = None) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < 1
        or (most is not None and value > most)
    ):
        bound = f" from 1 to {most}" if most is not None else " (1 or more)"
        msg = f"{field} must be an int{bound}, not {value!r}"
        raise ConfigurationError(msg, field=field)
    return value


def _check_age(value: object, field: str) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        msg = f"{field} must be a positive datetime.timedelta, not {value!r}"
        raise ConfigurationError(msg, field=field)
    return value


def _check_on_recorded(value: object, mode: Mode) -> OnRecorded | None:
    if value is None:
        return None
    if not callable(value):
        msg = (
            "on_recorded must be callable as on_recorded(provider, account, event_key), "
            f"not {value!r}"
        )
        raise ConfigurationError(msg, field="on_recorded")
    if mode != "deferred":
        msg = "on_recorded hands events to a task queue: it needs mode='deferred'"
        raise ConfigurationError(msg, field="on_recorded")
    return value


def _check_backoff(value: object) -> Backoff:
    if not isinstance(value, Backoff):
        msg = f"backoff must be a payplane.Backoff, not {value!r}"
        raise ConfigurationError(msg, field="backoff")
    return value


def _ref(provider: str, event_key: str, account: str) -> EventRef:
    return EventRef(provider, account, event_key)


class Inbox:
    """Receives postbacks: verify, record durably, deduplicate, apply once, answer.

    ``receive()`` runs, for one delivery:

    1. the size limit (413 over *max_body*);
    2. the provider's verification with the settings of the account the delivery was
       sent to, header names lower-cased (400 and a *rejected* record on a bad signature
       or malformed body: nothing else happens);
    3. then, by *mode*:

       - ``"inline"`` (the default): one database transaction inserts the event under
         ``(provider, account, event_key)``, runs ``handler(event, transaction)`` and
         marks it applied, and commits once; only then is "ok" answered. A crash before
         that commit leaves nothing behind, and nothing was acknowledged. A repeat of an
         applied event is answered "ok" at once; a repeat of an event not applied yet
         takes the event's lock (waiting at most *wait* seconds; past that the provider
         is told to re-send) and, unless another delivery applied it meanwhile, runs
         the handler;
       - ``"deferred"``: the event is committed as *received* and "ok" is answered at
         once; no handler runs in the request. Workers apply it later
         (:meth:`work`, ``payplane inbox work``), or the task queue that *on_recorded*
         hands it to (:meth:`apply`);

    4. the provider's "ok" (``200 {"status":"ok"}`` for Paykassma) — or, if an inline
       handler raised, its "send again" answer, with the error kept on the record.

    A verified event that is not a payment is recorded as *ignored*, acknowledged and
    never given to the handler.

    It never raises and never answers 5xx for what a sender controls: a verified event
    that cannot be stored exactly (an event key no store can keep or index, nesting
    deeper than 64 levels) is refused with 400 and kept among the rejected deliveries.
    A failure on payplane's side (a provider's bug in verification, a database that
    cannot be reached after one retry on a fresh connection) is answered with the
    provider's "send again", so the provider re-sends once it is fixed; a body a
    provider failed to verify is also kept among the rejected deliveries.

    Exactly once holds when the handler writes through ``transaction.connection`` (SQLite
    and PostgreSQL stores), through Django's ORM with
    :class:`~payplane.contrib.django.DjangoStore`, or through the session
    :func:`payplane.contrib.sqlalchemy.session` gives with
    :class:`~payplane.contrib.sqlalchemy.SQLAlchemyStore`: the writes and the "applied"
    mark commit together, inline or in a worker. A handler with other side effects (an
    HTTP call, another database) gets at least once, with ``event.event_key`` stable
    across deliveries for its own deduplication.

    The handler must be a plain function: async functions, generator functions (and
    partials or callables wrapping them) are refused when the inbox is built, and a
    handler that returns a coroutine, generator or other awaitable is treated as failed
    (its writes rolled back), never as applied.

    Args:
        store: Where events are recorded (:class:`SQLiteStore`, :class:`PostgresStore`,
            :class:`MemoryStore`).
        handler: Called once per distinct event, as ``handler(event, transaction)``.
        providers: Provider id to settings (a settings object or a mapping of fields):
            the provider's one account, ``POST /{provider}``.
        accounts: Provider id to a mapping of account id to settings, for several
            merchant accounts of one provider (``POST /{provider}/{account}``); account
            ids are 1 to 64 of ``a-z``, ``0-9``, ``_`` and ``-``.
        registry: Where providers are looked up (default: :func:`default_registry`).
        max_body: The largest body read, in bytes (a positive int).
        wait: Seconds a delivery waits for a concurrent delivery of the same event
            (finite, 0 or more).
        mode: ``"inline"`` (apply in the request) or ``"deferred"`` (apply in workers).
        on_recorded: Deferred mode only: called as ``on_recorded(provider, account,
            event_key)`` after each newly recorded event is committed, to hand it to a
            task queue whose task calls :meth:`apply`. Its failure is logged; the
            delivery is still acknowledged (:meth:`sweep` dispatches it again).
        max_attempts: Deferred mode: how many failed attempts make an event dead.
        backoff: Deferred mode: the wait before each new attempt (:class:`Backoff`).

    Raises:
        ConfigurationError: an argument is unusable; ``field`` names it.
    """

    def __init__(
        self,
        store: Store,
        handler: Callable[[PostbackEvent, InboxTransaction], object],
        *,
        providers: Mapping[str, object] | None = None,
        accounts: Mapping[str, Mapping[str, object]] | None = None,
        registry: Registry | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        wait: float = 5.0,
        mode: Literal["inline", "deferred"] = "inline",
        on_recorded: Callable[[str, str, str], object] | None = None,
        max_attempts: int = 16,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = _check_store(store)
        self.handler = _check_handler(handler)
        self.max_body = _check_max_body(max_body)
        self.wait = _check_wait(wait)
        self.mode = _check_mode(mode)
        self.on_recorded = _check_on_recorded(on_recorded, self.mode)
        self.max_attempts = _check_positive_int(max_attempts, "max_attempts")
        self.backoff = Backoff() if backoff is None else _check_backoff(backoff)
        self._registry = registry or default_registry()
        self._hooks = InboxHooks(self._registry.plugin_manager.hook)
        self._providers: dict[tuple[str, str], _Provider] = {}
        # Every account's secrets: a refused delivery may carry another account's keys
        # (a postback for shop A sent to shop B's URL), and is kept scrubbed of them all.
        self._secrets: dict[tuple[str, str], frozenset[str]] = {}
        self._refused = _Provider.__new__(_Provider)
        self._refused.scrub = Redactor(())
        for provider, settings in (providers or {}).items():
            self.add_provider(provider, settings)
        for provider, by_account in dict[str, object](accounts or {}).items():
            if not isinstance(by_account, Mapping):
                msg = f"accounts[{provider!r}] must map account ids to settings, not {by_account!r}"
                raise ConfigurationError(msg, field="accounts")
            for account, settings in by_account.items():
                self.add_provider(provider, settings, account=account)

    def add_provider(self, provider: str, settings: object, *, account: str = "") -> None:
        """Accept postbacks of *provider* for *account*, verified with *settings*.

        With the default ``account=""`` the provider's one account is served at
        ``POST /{provider}``; a named account at ``POST /{provider}/{account}``, each with
        its own settings (keys). Adding an account again replaces its settings.

        Raises:
            UnknownProviderError: no such provider is installed.
            UnsupportedCapabilityError: the provider does not send postbacks.
            ConfigurationError: invalid settings, or an account id that is not 1 to 64 of
                ``a-z``, ``0-9``, ``_`` and ``-``.
        """
        account = _check_account(account)
        spec, settings_obj, instance = self._registry.create_provider(provider, settings)
        if Capability.POSTBACKS not in spec.capabilities:
            raise UnsupportedCapabilityError(provider, Capability.POSTBACKS.value)
        secrets = secret_values(settings_obj)
        self._providers[provider, account] = _Provider(instance, secrets)  # type: ignore[arg-type]
        self._secrets[provider, account] = secrets
        self._refused.scrub = Redactor(frozenset().union(*self._secrets.values()))

    @property
    def providers(self) -> tuple[str, ...]:
        """The provider ids this inbox accepts (for any account), sorted."""
        return tuple(sorted({provider for provider, _ in self._providers}))

    @property
    def endpoints(self) -> tuple[tuple[str, str], ...]:
        """``(provider, account)`` pairs this inbox accepts, sorted (``""``: one account)."""
        return tuple(sorted(self._providers))

    # -- receiving ---------------------------------------------------------------------

    def receive(
        self,
        provider: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        account: str = "",
    ) -> PostbackAnswer:
        """Handle one delivery and return the HTTP answer to send back.

        Header names may come in any case (Flask and Django give ``X-Signature``, ASGI
        ``x-signature``): the provider receives them lower-cased. *account* is the
        merchant account the delivery was addressed to (``""`` for ``POST /{provider}``):
        it is verified with that account's settings only.

        Never raises for anything a sender controls: every refusal is an answer.
        Observers hear of the delivery and its outcome (``payplane_postback_received``,
        ``payplane_postback_answered``).
        """
        with self._hooks.delivery(provider, account) as delivery:
            return delivery.answered(self._deliver(provider, account, body, headers))

    def _deliver(
        self, provider: str, account: str, body: bytes, headers: Mapping[str, str] | None
    ) -> PostbackAnswer:
        entry = self._providers.get((provider, account))
        if entry is None:
            return self._unknown(provider, account)
        try:
            return self._receive(entry, provider, account, body, headers)
        except Exception as exc:  # noqa: BLE001 - the last line: an answer, never a 500
            note("error")
            where = f"{provider}/{account}" if account else provider
            self._log_failure(
                entry, logging.ERROR, f"postback for {where} failed: asking for a re-send", exc
            )
            return entry.send_again

    def _unknown(self, provider: str, account: str) -> PostbackAnswer:
        """Answer a delivery sent where this inbox accepts none (404)."""
        known = any(accepted == provider for accepted, _ in self._providers)
        note("rejected", "unknown_account" if known else "unknown_provider")
        return _answer(404, _not_accepted(provider, account))

    async def receive_async(
        self,
        provider: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        account: str = "",
    ) -> PostbackAnswer:
        """Async :meth:`receive`: the store and the handler run in a worker thread."""
        return await asyncio.to_thread(self.receive, provider, body, headers, account=account)

    def _is_payment(self, event: PostbackEvent) -> bool:
        """Whether *event* (a :class:`~payplane.PostbackEvent`) is for the handler."""
        del event
        return True

    def _for_handler(self, event: PostbackEvent | OtherEvent) -> TypeGuard[PostbackEvent]:
        """Whether *event* is for the handler; other verified events are recorded as ignored.

        The one place that decides: an :class:`~payplane.OtherEvent` (a dispute, a
        settlement...) is acknowledged and never handled.
        """
        return isinstance(event, PostbackEvent) and self._is_payment(event)

    def _receive(  # noqa: PLR0911 - one early answer per step of the pipeline
        self,
        entry: _Provider,
        provider: str,
        account: str,
        body: bytes,
        headers: Mapping[str, str] | None,
    ) -> PostbackAnswer:
        if len(body) > self.max_body:
            return self._too_large(entry, provider, account, body, size=len(body), exact=True)
        lowered = _headers(headers)
        try:
            event = entry.verifier.verify_postback(body, lowered)
        except PayplaneError as exc:
            # A wrong key rejects every real postback: say so loudly. Other refusals are
            # mostly noise from whoever finds the URL.
            level = logging.WARNING if isinstance(exc, SignatureError) else logging.INFO
            error = f"{type(exc).__name__}: {exc.message}"
            note("rejected", _rejection_reason(exc))
            return self._refuse(entry, provider, account, body, lowered, error, exc.message, level)
        except Exception as exc:  # noqa: BLE001 - a provider's bug, not the sender's fault
            return self._provider_failed(
                entry, provider, account, body, lowered, exc, "verify a postback"
            )
        verified(event)
        problem = _unstorable_key(event.event_key)
        if problem is not None:
            error = f"MalformedPayloadError: {problem}"
            note("rejected", "malformed")
            return self._refuse(
                entry, provider, account, body, lowered, error, problem, logging.WARNING
            )
        try:
            event_json = event_to_json(event, scrub=entry.scrub)
        except MalformedPayloadError as exc:
            error = f"MalformedPayloadError: {exc.message}"
            note("rejected", "malformed")
            return self._refuse(
                entry, provider, account, body, lowered, error, exc.message, logging.WARNING
            )
        except Exception as exc:  # noqa: BLE001 - an event the provider built wrongly
            return self._provider_failed(
                entry, provider, account, body, lowered, exc, "build a storable event"
            )
        ref = EventRef(provider, account, event.event_key)
        new = NewRecord(
            ref=ref,
            kind=str(event.kind.value),
            body=entry.scrub_body(body),
            event_json=event_json,
            headers_json=entry.headers_json(lowered),
        )
        if not self._for_handler(event):
            return self._record(entry, new, RecordState.IGNORED, event=event)
        if self.mode == "deferred":
            return self._record(entry, new, RecordState.RECEIVED)
        return self._apply(entry, ref, event, new=new)

    def _record(
        self,
        entry: _Provider,
        new: NewRecord,
        state: RecordState,
        *,
        event: PostbackEvent | OtherEvent | None = None,
    ) -> PostbackAnswer:
        """Commit *new* in *state* without running anything; answer "ok" once it is.

        An ignored *event* already recorded as waiting (by an inbox that took it for a
        payment) is settled as ignored instead, under its lock.
        """
        try:
            recorded, inserted = self.store.record(new, state, wait=self.wait)
        except InboxBusyError:
            note("busy")
            return entry.send_again  # not recorded, so not acknowledged: sent again
        except StoreUnavailableError as exc:
            note("unavailable")
            self._log_failure(
                entry,
                logging.ERROR,
                f"could not record postback {new.ref}: asking for a re-send",
                exc,
            )
            return entry.send_again
        if inserted and state is RecordState.RECEIVED and self.on_recorded is not None:
            self._hand_off(entry, new.ref)
        if event is not None and not inserted and recorded not in _SETTLED:
            return self._apply(entry, new.ref, event)
        if state is RecordState.IGNORED:
            note("ignored")
        else:
            note("recorded" if inserted else "repeat")
        return entry.accepted

    def _hand_off(self, entry: _Provider, ref: EventRef) -> bool:
        """Call on_recorded for *ref*, outside any transaction; log its failure."""
        assert self.on_recorded is not None  # noqa: S101 - for mypy: callers check
        try:
            self.on_recorded(ref.provider, ref.account, ref.event_key)
        except Exception as exc:  # noqa: BLE001 - recorded already; sweep() hands it again
            self._log_failure(
                entry,
                logging.ERROR,
                f"on_recorded failed for {ref}: it stays received until sweep() hands it again",
                exc,
            )
            return False
        return True

    def _refuse_too_large(
        self, provider: str, body: bytes, *, size: int, exact: bool, account: str = ""
    ) -> PostbackAnswer:
        """Refuse a body over the limit, of which *body* is what was read (ASGI app)."""
        with self._hooks.delivery(provider, account) as delivery:
            return delivery.answered(
                self._deliver_too_large(provider, account, body, size=size, exact=exact)
            )

    def _deliver_too_large(
        self, provider: str, account: str, body: bytes, *, size: int, exact: bool
    ) -> PostbackAnswer:
        entry = self._providers.get((provider, account))
        if entry is None:
            return self._unknown(provider, account)
        try:
            return self._too_large(entry, provider, account, body, size=size, exact=exact)
        except Exception as exc:  # noqa: BLE001 - the last line: an answer, never a 500
            note("error")
            self._log_failure(entry, logging.ERROR, f"postback for {provider} failed", exc)
            return entry.send_again

    def _too_large(
        self,
        entry: _Provider,
        provider: str,
        account: str,
        body: bytes,
        *,
        size: int,
        exact: bool,
    ) -> PostbackAnswer:
        what = f"{size} bytes" if exact else f"at least {size} bytes"
        message = f"body of {what} is over the limit of {self.max_body} bytes"
        note("rejected", "too_large")
        return self._refuse(
            entry,
            provider,
            account,
            body,
            _headers(None),
            f"[{provider}] {message}",
            message,
            logging.INFO,
            status=413,
        )

    def _refuse(  # noqa: PLR0917 - private, called with the refusal's parts in order
        self,
        entry: _Provider,
        provider: str,
        account: str,
        body: bytes,
        headers: Mapping[str, str],
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
        error = self._refused.scrub_log(entry.scrub_log(error))
        where = f"{provider}/{account}" if account else provider
        logger.log(level, "postback for %s refused: %s", where, error)
        if not self._keep_rejected(entry, provider, account, body, headers, error):
            note("unavailable")
            return entry.send_again
        return _answer(status, self._refused.scrub_log(entry.scrub_log(answer)))

    def _keep_rejected(  # noqa: PLR0917 - private
        self,
        entry: _Provider,
        provider: str,
        account: str,
        body: bytes,
        headers: Mapping[str, str],
        error: str,
    ) -> bool:
        scrub = self._refused  # every account's secrets, the entry's among them
        kept = {name: scrub.scrub_log(value) for name, value in headers.items()}
        try:
            self.store.reject(
                provider,
                account,
                scrub.scrub_body(entry.scrub_body(body)),
                scrub.scrub_log(entry.scrub_log(error)),
                entry.headers_json(kept),
            )
        except Exception as exc:  # noqa: BLE001 - answered "send again" instead
            self._log_failure(
                entry,
                logging.ERROR,
                f"could not keep a refused postback for {provider}: asking for a re-send",
                exc,
            )
            return False
        return True

    def _provider_failed(  # noqa: PLR0917 - private
        self,
        entry: _Provider,
        provider: str,
        account: str,
        body: bytes,
        headers: Mapping[str, str],
        exc: Exception,
        doing: str,
    ) -> PostbackAnswer:
        # Not the sender's fault, and the body may be genuine: keep it for the operator
        # and have the provider send it again, so it is applied once the bug is fixed.
        self._log_failure(
            entry,
            logging.ERROR,
            f"provider {provider} failed to {doing}: kept among the rejected, asking for a re-send",
            exc,
        )
        self._keep_rejected(
            entry, provider, account, body, headers, f"internal error: {_describe(exc)}"
        )
        note("error")
        return entry.send_again

    def _log_failure(self, entry: _Provider, level: int, message: str, exc: BaseException) -> None:
        """Log *message* with *exc*'s traceback, both scrubbed; no exception object leaves."""
        try:
            trace = "".join(traceback.format_exception(exc))
        except Exception:  # noqa: BLE001 - a traceback that cannot be formatted
            trace = _describe(exc)
        logger.log(level, "%s\n%s", entry.scrub_log(message), entry.scrub_log(trace).rstrip())

    # -- applying ------------------------------------------------------------------------

    def _apply(
        self,
        entry: _Provider,
        ref: EventRef,
        event: PostbackEvent | OtherEvent,
        *,
        new: NewRecord | None = None,
        replay: bool = False,
    ) -> PostbackAnswer:
        for attempt in (1, 2):
            ran: list[bool] = []
            try:
                return self._apply_once(entry, ref, event, new=new, replay=replay, ran=ran)
            except InboxBusyError:
                note("busy")
                logger.info(
                    "postback %s busy elsewhere: asking for a re-send", entry.scrub_log(str(ref))
                )
                return entry.send_again
            except StoreUnavailableError as exc:
                # Nothing committed (or, after a lost COMMIT, the recorded state tells):
                # one more attempt on a fresh connection cannot apply the event twice.
                # An operator's replay is not repeated once its handler ran.
                if attempt == 2 or (replay and ran):  # noqa: PLR2004 - the one retry
                    note("unavailable")
                    self._log_failure(
                        entry,
                        logging.ERROR,
                        f"lost the database connection applying {ref}: asking for a re-send",
                        exc,
                    )
                    return entry.send_again
                logger.warning(
                    "lost the database connection applying %s: trying once more",
                    entry.scrub_log(str(ref)),
                )
        raise AssertionError  # pragma: no cover - the loop returns

    def _apply_once(
        self,
        entry: _Provider,
        ref: EventRef,
        event: PostbackEvent | OtherEvent,
        *,
        new: NewRecord | None,
        replay: bool,
        ran: list[bool],
    ) -> PostbackAnswer:
        # The run's hooks close after the transaction ended: entered first, left last.
        with self._hooks.run() as run, self.store.applying(ref, wait=self.wait, new=new) as context:
            if context.state in _SETTLED and not context.fresh and not replay:
                note("ignored" if context.state is RecordState.IGNORED else "repeat")
                return entry.accepted
            if not self._for_handler(event):
                # Recorded before the inbox knew it for a non-payment: settle it, no handler.
                context.mark_ignored()
                note("ignored")
                return entry.accepted
            ran.append(True)
            deferred = self.mode == "deferred" and new is None and not replay
            failure = self._run_handler(
                entry, context, event, replay=replay, deferred=deferred, run=run
            )
        if failure is not None:
            note("failed")
            self._log_failure(
                entry,
                logging.WARNING,
                f"handler failed for {ref}: asking for a re-send",
                failure,
            )
            return entry.send_again
        note("applied")
        return entry.accepted

    def _run_handler(
        self,
        entry: _Provider,
        context: ApplyContext,
        event: PostbackEvent,
        *,
        replay: bool,
        deferred: bool,
        run: RunHooks,
    ) -> Exception | None:
        """Run the handler in a savepoint of *context*'s transaction and mark the outcome.

        In deferred mode a failure schedules the next attempt (or, past *max_attempts*,
        makes the event dead); inline, the provider's re-send is the next attempt.
        *run* tells observers (its hooks close once the transaction ended).
        """
        run.applying(context.ref, event, replay=replay, scrub=entry.scrub)
        try:
            with context.savepoint():
                _check_completed(self.handler(event, context.transaction))
        except Exception as exc:  # noqa: BLE001 - recorded, answered, not raised
            failures = context.attempts + (0 if context.fresh else 1)
            dead = deferred and failures >= self.max_attempts
            retry_in = self.backoff.delay(failures) if deferred and not dead else None
            error = entry.scrub_log(_describe(exc))
            context.mark_failed(error, retry_in=retry_in, dead=dead)
            # Dead now, and not before (an operator's retry of a dead event): said once.
            died = dead and context.state is not RecordState.DEAD
            run.raised(exc, dead=error if died else None, attempts=failures)
            return exc
        if replay:
            context.mark_replayed()
        else:
            context.mark_applied()
        return None

    # -- deferred mode ---------------------------------------------------------------------

    def work(
        self,
        *,
        stop: threading.Event | None = None,
        idle_wait: float = 1.0,
        lease: float = 300.0,
        max_events: int | None = None,
        until_idle: bool = False,
        max_attempts: int | None = None,
        backoff: Backoff | None = None,
    ) -> WorkSummary:
        """Apply due events, one transaction and one commit each, until told to stop.

        A worker claims the next due event (received, or failed and past its
        ``next_attempt_at``), oldest first, skipping events other workers hold
        (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite: one worker at a time
        per file, under its write lock), runs the handler in a savepoint of that
        transaction and marks the event applied, or failed with its next attempt after
        :class:`Backoff` (dead after *max_attempts*), and commits. Run as many workers as
        you like, in threads, processes or on other machines sharing one PostgreSQL
        store: each event is applied by one of them.

        The lease (PostgreSQL): the claiming transaction may stay idle (a handler busy
        outside the database) or run one statement for at most *lease* seconds; past
        that the server ends the worker's session, rolls its transaction back, and the
        event is due again for another worker. A worker killed outright (``SIGKILL``, a
        crash) loses its connection, and the event is free at once; one whose machine
        vanished without closing the connection frees it after the lease. SQLite has no
        lease: a handler that hangs holds the file's write lock.

        Args:
            stop: Return once this event is set (the event in hand is finished first).
            idle_wait: Seconds to sleep when nothing is due.
            lease: See above (positive seconds).
            max_events: Return after this many attempts (``None``: no limit).
            until_idle: Return as soon as nothing is due.
            max_attempts: Overrides the inbox's for this worker.
            backoff: Overrides the inbox's for this worker.

        Returns:
            What was done. A lost database connection is logged and waited out
            (*idle_wait*), never raised.
        """
        idle_wait = _positive_seconds(idle_wait, "idle_wait")
        lease = _positive_seconds(lease, "lease")
        if max_events is not None:
            _check_positive_int(max_events, "max_events")
        policy = self
        if max_attempts is not None or backoff is not None:
            policy = self._with_policy(max_attempts, backoff)
        stop = stop or threading.Event()
        counts = {
            RecordState.APPLIED: 0,
            RecordState.FAILED: 0,
            RecordState.DEAD: 0,
            RecordState.IGNORED: 0,
        }
        done = 0
        while not stop.is_set() and (max_events is None or done < max_events):
            try:
                outcome = policy._work_one(lease)  # noqa: SLF001 - the same class
            except InboxBusyError:
                stop.wait(min(idle_wait, 0.05))
                continue
            except StoreUnavailableError as exc:
                self._log_failure(
                    _NO_PROVIDER, logging.ERROR, "worker lost the database connection", exc
                )
                stop.wait(idle_wait)
                continue
            if outcome is None:
                if until_idle:
                    break
                stop.wait(idle_wait)
                continue
            counts[outcome] += 1
            done += 1
        return WorkSummary(
            applied=counts[RecordState.APPLIED],
            failed=counts[RecordState.FAILED],
            dead=counts[RecordState.DEAD],
            ignored=counts[RecordState.IGNORED],
        )

    def _with_policy(self, max_attempts: int | None, backoff: Backoff | None) -> Inbox:
        twin = object.__new__(Inbox)
        twin.__dict__.update(self.__dict__)
        if max_attempts is not None:
            twin.max_attempts = _check_positive_int(max_attempts, "max_attempts")
        if backoff is not None:
            twin.backoff = _check_backoff(backoff)
        twin.mode = "deferred"
        return twin

    def _entry(self, ref: EventRef) -> _Provider:
        return self._providers.get((ref.provider, ref.account), _NO_PROVIDER)

    def _work_one(self, lease: float) -> RecordState | None:
        """Claim and apply one due event; return how it ended (``None``: none was due)."""
        # The run's hooks close after the transaction ended: entered first, left last.
        with self._hooks.run() as run, self.store.claim(wait=self.wait, lease=lease) as context:
            if context is None:
                return None
            return self._apply_held(context, run)

    def _apply_held(self, context: ApplyContext, run: RunHooks) -> RecordState:
        """Apply the event *context* holds (a worker's or a task's); commit follows.

        Returns how it ended; *run* tells observers once the transaction ended.
        """
        entry = self._entry(context.ref)
        try:
            event = event_from_dict(json.loads(context.event_json))
        except Exception as exc:  # noqa: BLE001 - a record no handler can be given
            context.mark_failed(
                entry.scrub_log(f"cannot rebuild the event: {_describe(exc)}"),
                retry_in=None,
                dead=True,
            )
            return RecordState.DEAD
        if not self._for_handler(event):
            context.mark_ignored()  # recorded before the inbox knew it for a non-payment
            return RecordState.IGNORED
        failure = self._run_handler(entry, context, event, replay=False, deferred=True, run=run)
        if failure is None:
            return RecordState.APPLIED
        failures = context.attempts + 1
        outcome = RecordState.DEAD if failures >= self.max_attempts else RecordState.FAILED
        self._log_failure(
            entry,
            logging.WARNING,
            f"handler failed for {context.ref} (attempt {failures} of {self.max_attempts})",
            failure,
        )
        return outcome

    def apply(self, provider: str, event_key: str, *, account: str = "") -> RecordState:
        """Apply one recorded event now, exactly once: the task of a task-queue hand-off.

        The same transaction as a worker's: the event's lock, the handler in a savepoint,
        the mark, one commit. Calling it again for an applied event (a duplicate task)
        does nothing. A dead event is left alone (re-queue it), an ignored one too; an
        event another worker holds for longer than *wait* seconds is left to it. The
        event's ``next_attempt_at`` is not consulted: the caller decides when.

        Returns:
            The state afterwards. ``APPLIED``, ``FAILED`` when the handler raised (the
            record's ``next_attempt_at`` says when to try again, and :meth:`sweep`
            hands it off again then), ``DEAD`` after *max_attempts*, or else the state
            it was left in.

        Raises:
            LookupError: no such record.
            ConnectionError: the database cannot be reached.
        """
        ref = _ref(provider, event_key, account)
        try:
            # The run's hooks close after the transaction ended: entered first, left last.
            with self._hooks.run() as run, self.store.applying(ref, wait=self.wait) as context:
                state: RecordState = context.state
                if state not in (RecordState.RECEIVED, RecordState.FAILED):
                    return state
                return self._apply_held(context, run)
        except InboxBusyError:
            record = self.store.get(ref)
            if record is None:  # pragma: no cover - it was there a moment ago
                raise LookupError(str(ref)) from None
            return record.state

    def sweep(self, *, older_than: timedelta = timedelta(minutes=5), limit: int = 1000) -> int:
        """Hand off again the events still waiting *older_than* after they were due.

        For the task-queue hand-off: an event whose ``on_recorded`` call failed, or
        whose task was lost (a broker restart, a worker killed before it acknowledged),
        stays *received* (or *failed* past its ``next_attempt_at``); this calls
        ``on_recorded`` again for each, oldest first, at most *limit*. Run it
        periodically (a cron job, Celery beat). A duplicate hand-off is harmless:
        :meth:`apply` applies once.

        Returns:
            How many events were handed off.

        Raises:
            ConfigurationError: the inbox has no *on_recorded*, or a bad argument.
        """
        if self.on_recorded is None:
            msg = "sweep() hands events to on_recorded: this inbox has none"
            raise ConfigurationError(msg, field="on_recorded")
        older_than = _check_age(older_than, "older_than") if older_than else timedelta(0)
        limit = _check_positive_int(limit, "limit", most=100_000)
        refs = self.store.due(before=datetime.now(UTC) - older_than, limit=limit)
        return sum(self._hand_off(self._entry(ref), ref) for ref in refs)

    def requeue(self, provider: str, event_key: str, *, account: str = "") -> RecordState:
        """Make a dead (or failed) event due again now, with a fresh count of attempts.

        For an operator, once the cause of its failures is fixed: workers (or
        :meth:`sweep`'s hand-off) apply it next. Other states are left alone.

        Returns:
            The state afterwards (``RECEIVED`` once re-queued).

        Raises:
            LookupError: no such record.
            ConnectionError: the database cannot be reached.
        """
        ref = _ref(provider, event_key, account)
        state = self.store.requeue(ref)
        if state is None:
            msg = f"no recorded postback {ref}"
            raise LookupError(msg)
        return state

    def requeue_dead(self, *, provider: str | None = None, account: str | None = None) -> int:
        """Re-queue every dead event (of one provider or account); return how many."""
        count = 0
        while True:
            page = self.store.records(
                state=RecordState.DEAD, provider=provider, account=account, limit=500
            )
            if not page:
                return count
            for record in page:
                count += self.store.requeue(record.ref) is RecordState.RECEIVED

    # -- retention -----------------------------------------------------------------------

    def prune(
        self,
        *,
        applied_older_than: timedelta,
        rejected_older_than: timedelta | None = None,
        batch: int = 1000,
        dry_run: bool = False,
    ) -> PruneResult:
        """Delete applied (and ignored) records and refused deliveries past an age.

        An applied record goes once it was applied longer ago than *applied_older_than*
        (an ignored one, recorded); a refused delivery once received longer ago than
        *rejected_older_than* (``None``: none deleted). Received, failed and dead
        records are never deleted. Deletes run in batches of at most *batch* rows, each
        its own short transaction, so live deliveries go on meanwhile.

        Keep records longer than any provider may re-send an event: a re-delivery of a
        pruned event is a new event to the inbox, and is applied again.

        Raises:
            ConfigurationError: an age that is not a positive ``timedelta``, or a batch
                outside 1 to 100,000.
            ConnectionError: the database cannot be reached.
        """
        applied = _check_age(applied_older_than, "applied_older_than")
        rejected = (
            None
            if rejected_older_than is None
            else _check_age(rejected_older_than, "rejected_older_than")
        )
        batch = _check_positive_int(batch, "batch", most=100_000)
        now = datetime.now(UTC)
        return self.store.prune(
            applied_before=now - applied,
            rejected_before=None if rejected is None else now - rejected,
            batch=batch,
            dry_run=bool(dry_run),
        )

    # -- operations --------------------------------------------------------------------

    def get(self, provider: str, event_key: str, *, account: str = "") -> InboxRecord | None:
        """Return the record of one event, or ``None``.

        The operations (this, :meth:`records`, :meth:`rejected`, :meth:`retry`,
        :meth:`replay`, :meth:`requeue`) raise :class:`ConnectionError` when the
        database cannot be reached, after one retry on a fresh connection.
        """
        return self.store.get(_ref(provider, event_key, account))

    def records(
        self,
        *,
        state: RecordState | None = None,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[InboxRecord]:
        """Return one page of recorded events, newest first.

        Pages: pass the last record's ``id`` as *after* to get the next (older) page;
        a page shorter than *limit* is the last. :meth:`iter_records` walks them all.

        Args:
            state: Only records in this state.
            provider: Only this provider's.
            account: Only this account's (``""``: the providers' one accounts).
            after: Only records with a smaller ``id`` (older than that one).
            limit: At most this many (1 to 10,000).

        Raises:
            ValueError: a bad *limit* or *after*.
        """
        return self.store.records(
            state=state, provider=provider, account=account, after=after, limit=limit
        )

    def iter_records(
        self,
        *,
        state: RecordState | None = None,
        provider: str | None = None,
        account: str | None = None,
        page: int = 500,
    ) -> Iterator[InboxRecord]:
        """Yield every matching record, newest first, reading *page* at a time."""
        after = None
        while True:
            records = self.records(
                state=state, provider=provider, account=account, after=after, limit=page
            )
            yield from records
            if len(records) < page:
                return
            after = records[-1].id

    def rejected(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RejectedPostback]:
        """Return one page of refused deliveries (bad signature, malformed, too large).

        Newest first; pages as for :meth:`records`.
        """
        return self.store.rejected(provider=provider, account=account, after=after, limit=limit)

    def retry(self, provider: str, event_key: str, *, account: str = "") -> RecordState:
        """Apply a recorded event that is not applied yet (after a handler failure).

        An applied or ignored event is left alone; a dead one is tried (deferred mode:
        it stays dead if it fails again). Returns the state afterwards.

        Raises:
            LookupError: no such record.
            ConfigurationError: the inbox does not accept that provider and account.
        """
        ref = _ref(provider, event_key, account)
        entry, record = self._recorded(ref)
        if record.state not in _SETTLED:
            self._apply(entry, ref, record.event)
        after = self.store.get(ref)
        return RecordState.RECEIVED if after is None else after.state

    def replay(self, provider: str, event_key: str, *, account: str = "") -> bool:
        """Run the handler again for an *applied* event, on an operator's decision.

        This is the one way to apply an event twice; the record counts replays.
        Returns whether the handler completed (``False`` also when the database
        connection was lost after the handler ran: the replay count tells).

        Raises:
            LookupError: no such record.
            ValueError: the event is not applied yet (use :meth:`retry`).
        """
        ref = _ref(provider, event_key, account)
        entry, record = self._recorded(ref)
        if record.state is not RecordState.APPLIED:
            msg = f"{ref} is {record.state.value}, not applied: retry it instead"
            raise ValueError(msg)
        answer = self._apply(entry, ref, record.event, replay=True)
        return answer is entry.accepted

    def _recorded(self, ref: EventRef) -> tuple[_Provider, InboxRecord]:
        entry = self._providers.get((ref.provider, ref.account))
        if entry is None:
            msg = f"this inbox does not accept {_named(ref.provider, ref.account)}"
            raise ConfigurationError(msg, provider=ref.provider)
        record = self.store.get(ref)
        if record is None:
            msg = f"no recorded postback {ref}"
            raise LookupError(msg)
        return entry, record


def _named(provider: str, account: str) -> str:
    if account:
        return f"provider {provider!r} account {account!r}"
    return f"provider {provider!r}"


def _not_accepted(provider: str, account: str) -> str:
    return f"no postbacks are accepted for {_named(provider, account)}"
