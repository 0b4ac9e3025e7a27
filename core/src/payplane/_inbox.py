"""The postback inbox: every postback recorded, applied exactly once, acknowledged right."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping

from payplane._eventcodec import event_to_json
from payplane._http import PostbackAnswer
from payplane._models import PostbackEvent
from payplane._protocols import Capability, PostbackProvider
from payplane._registry import Registry, default_registry
from payplane._secrets import redact, secret_values
from payplane._stores import (
    InboxBusyError,
    InboxRecord,
    InboxTransaction,
    RecordState,
    RejectedPostback,
    Store,
)
from payplane.exceptions import (
    ConfigurationError,
    PayloadTooLargeError,
    PayplaneError,
    UnsupportedCapabilityError,
)

__all__ = ["DEFAULT_MAX_BODY", "Inbox"]

logger = logging.getLogger("payplane.inbox")

DEFAULT_MAX_BODY = 1024 * 1024
"""Largest postback body the receiver reads: 1 MiB."""


def _answer(status: int, error: str) -> PostbackAnswer:
    body = json.dumps({"status": "error", "error": error}).encode()
    return PostbackAnswer(
        status_code=status, content=body, headers={"content-type": "application/json"}
    )


class _Provider:
    def __init__(self, verifier: PostbackProvider, secrets: frozenset[str]) -> None:
        self.verifier = verifier
        self.secrets = secrets

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets)

    def scrub_body(self, body: bytes) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.scrub(text).encode("utf-8", "surrogateescape")


class Inbox:
    """Receives postbacks: verify, record durably, deduplicate, apply once, answer.

    ``receive()`` runs, for one delivery:

    1. the size limit (413 over *max_body*);
    2. the provider's verification (400 and a *rejected* record on a bad signature or
       malformed body: nothing else happens);
    3. ``store.record``: the event is committed under ``(provider, event_key)``
       before any "ok" can be answered;
    4. a repeat of an applied event is answered "ok" at once;
    5. otherwise the event's lock is taken (waiting at most *wait* seconds; past that the
       provider is told to re-send) and, unless another worker applied it meanwhile,
       ``handler(event, transaction)`` runs and the event is marked applied in the same
       transaction;
    6. the provider's "ok" (``200 {"status":"ok"}`` for Paykassma) — or, if the handler
       raised, its "send again" answer, with the error kept on the record.

    Exactly once holds when the handler writes through ``transaction.connection`` (SQLite
    and PostgreSQL stores): the writes and the "applied" mark commit together. A handler
    with other side effects (an HTTP call, another database) gets at least once, with
    ``event.event_key`` stable across deliveries for its own deduplication.

    Args:
        store: Where events are recorded (:class:`SQLiteStore`, :class:`PostgresStore`,
            :class:`MemoryStore`).
        handler: Called once per distinct event.
        providers: Provider id to settings (a settings object or a mapping of fields).
        registry: Where providers are looked up (default: :func:`default_registry`).
        max_body: The largest body read, in bytes.
        wait: Seconds a delivery waits for a concurrent delivery of the same event.
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
        self.store = store
        self.handler = handler
        self.max_body = max_body
        self.wait = wait
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

    def receive(  # noqa: PLR0911 - one early answer per step of the pipeline
        self, provider: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackAnswer:
        """Handle one delivery and return the HTTP answer to send back.

        Never raises for anything a sender controls: every refusal is an answer.
        """
        entry = self._providers.get(provider)
        if entry is None:
            return _answer(404, f"no postbacks are accepted for provider {provider!r}")
        if len(body) > self.max_body:
            error = PayloadTooLargeError(len(body), self.max_body, provider=provider)
            self._reject(entry, provider, body, str(error))
            return _answer(413, error.message)
        try:
            event = entry.verifier.verify_postback(body, headers or {})
        except PayplaneError as exc:
            self._reject(entry, provider, body, f"{type(exc).__name__}: {exc.message}")
            return _answer(400, entry.scrub(exc.message))
        except Exception as exc:
            # A provider bug must not turn into a 500 with a traceback nor lose the body.
            logger.exception("provider %s failed to verify a postback", provider)
            self._reject(entry, provider, body, entry.scrub(f"internal error: {exc!r}"))
            return _answer(500, "internal error")
        try:
            state = self.store.record(
                provider,
                event.event_key,
                entry.scrub_body(body),
                event_to_json(event),
                wait=self.wait,
            )
        except InboxBusyError:
            # Not recorded, so not acknowledged: the provider sends it again.
            return entry.verifier.postback_answer(accepted=False)
        if state is RecordState.APPLIED or not isinstance(event, PostbackEvent):
            # A recorded event about no payment is acknowledged: no handler runs for it.
            return entry.verifier.postback_answer(accepted=True)
        return self._apply(entry, provider, event)

    async def receive_async(
        self, provider: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> PostbackAnswer:
        """Async :meth:`receive`: the store and the handler run in a worker thread."""
        return await asyncio.to_thread(self.receive, provider, body, headers)

    def _reject(self, entry: _Provider, provider: str, body: bytes, error: str) -> None:
        logger.info("postback for %s rejected: %s", provider, entry.scrub(error))
        self.store.reject(provider, entry.scrub_body(body), entry.scrub(error))

    def _apply(
        self, entry: _Provider, provider: str, event: PostbackEvent, *, replay: bool = False
    ) -> PostbackAnswer:
        accepted = entry.verifier.postback_answer(accepted=True)
        retry_later = entry.verifier.postback_answer(accepted=False)
        error: str | None = None
        try:
            with self.store.applying(provider, event.event_key, wait=self.wait) as context:
                if context.state is RecordState.APPLIED and not replay:
                    return accepted
                try:
                    with context.savepoint():
                        self.handler(event, context.transaction)
                except Exception as exc:  # noqa: BLE001 - recorded, answered, not raised
                    error = entry.scrub(f"{type(exc).__name__}: {exc}")
                    context.mark_failed(error)
                else:
                    if replay:
                        context.mark_replayed()
                    else:
                        context.mark_applied()
        except InboxBusyError:
            logger.info(
                "postback %s/%s busy elsewhere: asking for a re-send", provider, event.event_key
            )
            return retry_later
        if error is not None:
            logger.warning("handler failed for %s/%s: %s", provider, event.event_key, error)
            return retry_later
        try:
            self._registry.plugin_manager.hook.payplane_postback_applied(
                provider=provider, event=event, replay=replay
            )
        except Exception:
            logger.exception("a payplane_postback_applied observer failed")
        return accepted

    # -- operations --------------------------------------------------------------------

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return the record of one event, or ``None``."""
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
        Returns whether the handler completed.

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
        return 200 <= answer.status_code < 300  # noqa: PLR2004 - HTTP success range

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
