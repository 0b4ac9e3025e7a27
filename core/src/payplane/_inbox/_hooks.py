"""The inbox's observation hooks: each delivery opened and answered, each handler run.

The inbox opens a delivery around each ``receive`` and each refusal of a body the ASGI
app found too large (:meth:`InboxHooks.delivery`), and notes what the delivery became
where it decides it (:func:`note`, :func:`verified`): the note goes to the delivery of
the current thread or task, so the steps deciding it need no extra argument, and a step
run outside a delivery (an operator's retry or replay, a deferred worker, a task's
``apply``) notes nothing.

Each handler run is a :class:`Run` (:meth:`InboxHooks.run`), entered *outside* the
store's transaction: the run says ``payplane_postback_applying`` just before the handler
(:meth:`Run.applying`), and on leaving, once the transaction committed,
``payplane_postback_applied`` or ``payplane_postback_failed`` (and
``payplane_postback_dead`` when that failure made a deferred event dead). A transaction
that fails after the handler ran (a commit lost with the connection) closes the run as
failed with that error.

Every hook is skipped when no implementation observes it, and an implementation that
raises is logged (logger ``payplane.inbox``), never propagated: an observer changes no
answer. Accounts are given as the hooks take them: ``None`` for a provider's one
account (the inbox's ``""``).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Self

from payplane._inbox._store import StoreUnavailableError
from payplane._redaction import describe_exception, redact_exception
from payplane.exceptions import PayplaneError, RedactedCause

if TYPE_CHECKING:
    from types import TracebackType

    from payplane._http import PostbackAnswer
    from payplane._inbox._store import EventRef
    from payplane._models import OtherEvent, PostbackEvent
    from payplane._redaction import Redactor

__all__ = ["Delivery", "InboxHooks", "Run", "RunHooks", "note", "verified"]

logger = logging.getLogger("payplane.inbox")

_DELIVERY_HOOKS = ("payplane_postback_received", "payplane_postback_answered")
_RUN_HOOKS = (
    "payplane_postback_applying",
    "payplane_postback_applied",
    "payplane_postback_failed",
    "payplane_postback_dead",
)


class Delivery:
    """One delivery as observers see it: where it was sent and what it became.

    A context manager: entering it calls ``payplane_postback_received`` and makes it
    the current delivery, which :func:`note` and :func:`verified` write to; leaving it
    calls ``payplane_postback_answered``.
    """

    __slots__ = (
        "_hooks",
        "_token",
        "account",
        "event",
        "outcome",
        "provider",
        "reason",
        "started",
        "status_code",
    )

    def __init__(self, hooks: InboxHooks, provider: str, account: str | None) -> None:
        self._hooks = hooks
        self._token: Token[Delivery | None] | None = None
        self.provider = provider
        self.account = account
        self.event: PostbackEvent | OtherEvent | None = None
        # Until a step notes otherwise: a failure on payplane's side.
        self.outcome = "error"
        self.reason: str | None = None
        self.status_code = 500
        self.started = time.perf_counter()

    def __enter__(self) -> Self:
        self._hooks.call("payplane_postback_received", provider=self.provider, account=self.account)
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
        self._hooks.call(
            "payplane_postback_answered",
            provider=self.provider,
            account=self.account,
            event=self.event,
            outcome=self.outcome,
            reason=self.reason,
            status_code=self.status_code,
            elapsed=time.perf_counter() - self.started,
        )

    def answered(self, answer: PostbackAnswer) -> PostbackAnswer:
        """Keep *answer*'s status, and return it."""
        self.status_code = answer.status_code
        return answer


class _UnobservedDelivery:
    """What :meth:`InboxHooks.delivery` gives when no one observes deliveries: nothing."""

    __slots__ = ()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    @staticmethod
    def answered(answer: PostbackAnswer) -> PostbackAnswer:
        return answer


_UNOBSERVED_DELIVERY = _UnobservedDelivery()
_CURRENT: ContextVar[Delivery | None] = ContextVar("payplane_delivery", default=None)


def note(outcome: str, reason: str | None = None) -> None:
    """Say what the current delivery became (``payplane.hookspecs.POSTBACK_OUTCOMES``)."""
    delivery = _CURRENT.get()
    if delivery is not None:
        delivery.outcome = outcome
        delivery.reason = reason


def verified(event: PostbackEvent | OtherEvent) -> None:
    """Say which event the current delivery carries, once it verified."""
    delivery = _CURRENT.get()
    if delivery is not None:
        delivery.event = event


class Run:
    """One run of the handler as observers see it: applying, then applied or failed.

    Enter it before the store's transaction opens and leave it after that transaction
    ended, so that ``payplane_postback_applied`` follows the commit. A run in which the
    handler never started (a repeat, an ignored event) calls nothing.
    """

    __slots__ = (
        "_hooks",
        "account",
        "attempts",
        "dead",
        "error",
        "event",
        "provider",
        "replay",
        "scrub",
    )

    def __init__(self, hooks: InboxHooks) -> None:
        self._hooks = hooks
        self.event: PostbackEvent | None = None
        self.provider = ""
        self.account: str | None = None
        self.replay = False
        self.scrub: Redactor | None = None
        self.error: BaseException | None = None
        self.dead: str | None = None
        self.attempts = 0

    def __enter__(self) -> Self:
        return self

    def applying(
        self,
        ref: EventRef,
        event: PostbackEvent,
        *,
        replay: bool,
        scrub: Redactor,
    ) -> None:
        """The handler is about to run for *event* (*scrub*: the account's secrets)."""
        self.provider = ref.provider
        self.account = ref.account or None
        self.event = event
        self.replay = replay
        self.scrub = scrub
        self._hooks.call(
            "payplane_postback_applying",
            provider=self.provider,
            account=self.account,
            event=event,
            replay=replay,
        )

    def raised(self, error: BaseException, *, dead: str | None = None, attempts: int = 0) -> None:
        """The handler raised *error*; *dead* is the recorded error if the event is now dead.

        *attempts* is how many times the handler ran for a dead event.
        """
        self.error = error
        self.dead = dead
        self.attempts = attempts

    def __exit__(
        self,
        _type: type[BaseException] | None,
        exc: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        event, scrub = self.event, self.scrub
        if event is None or scrub is None:
            return  # the handler never started
        self.event = None
        where = {"provider": self.provider, "account": self.account, "event": event}
        if exc is not None:
            # The transaction failed after the handler ran: a lost commit (the recorded
            # state tells whether it committed) or an interruption; nothing is known kept.
            self._hooks.call(
                "payplane_postback_failed",
                **where,
                error=_shown(exc, scrub),
                replay=self.replay,
            )
        elif self.error is not None:
            self._hooks.call(
                "payplane_postback_failed",
                **where,
                error=_shown(self.error, scrub),
                replay=self.replay,
            )
            if self.dead is not None:
                self._hooks.call(
                    "payplane_postback_dead", **where, error=self.dead, attempts=self.attempts
                )
        else:
            self._hooks.call("payplane_postback_applied", **where, replay=self.replay)


class _UnobservedRun:
    """What :meth:`InboxHooks.run` gives when no one observes handler runs: nothing."""

    __slots__ = ()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def applying(
        self, ref: EventRef, event: PostbackEvent, *, replay: bool, scrub: Redactor
    ) -> None:
        pass

    def raised(self, error: BaseException, *, dead: str | None = None, attempts: int = 0) -> None:
        pass


_UNOBSERVED_RUN = _UnobservedRun()

RunHooks = Run | _UnobservedRun
"""What :meth:`InboxHooks.run` gives."""


def _shown(error: BaseException, scrub: Redactor) -> BaseException:
    """*error* as observers get it: a payplane error redacted in place, else a stand-in.

    The store's private error for a lost connection stands in as the public class it
    reaches callers as, :class:`ConnectionError` (an ``error.type`` label names no
    private module).
    """
    if isinstance(error, PayplaneError):
        redact_exception(error, scrub)
        return error
    kind = ConnectionError if isinstance(error, StoreUnavailableError) else type(error)
    shown = RedactedCause(scrub(describe_exception(error)), original_type=kind)
    return shown.with_traceback(error.__traceback__)


class InboxHooks:
    """Calls the inbox's observation hooks on a registry's hook relay."""

    __slots__ = ("_deliveries", "_relay", "_runs")

    def __init__(self, relay: Any) -> None:  # noqa: ANN401 - a pluggy HookRelay
        self._relay = relay
        # The hook callers, looked up once (the registry made them with its hookspecs):
        # asking them for implementations is the whole cost of an unobserved delivery.
        self._deliveries = tuple(getattr(relay, name) for name in _DELIVERY_HOOKS)
        self._runs = tuple(getattr(relay, name) for name in _RUN_HOOKS)

    @staticmethod
    def _observed(callers: tuple[Any, ...]) -> bool:
        for caller in callers:  # noqa: SIM110 - a loop costs less than any() and a generator
            if caller.get_hookimpls():
                return True
        return False

    def call(self, name: str, **payload: object) -> None:
        """Call hook *name* if observed; an implementation that raises is logged."""
        hook = getattr(self._relay, name)
        if not hook.get_hookimpls():
            return
        try:
            hook(**payload)
        except Exception:
            logger.exception("a %s implementation failed; the answer stands", name)

    def delivery(self, provider: str, account: str) -> Delivery | _UnobservedDelivery:
        """A delivery to open with ``with``; a no-op when no one observes deliveries."""
        if self._observed(self._deliveries):
            return Delivery(self, provider, account or None)
        return _UNOBSERVED_DELIVERY

    def run(self) -> Run | _UnobservedRun:
        """A handler run to open with ``with``; a no-op when no one observes runs."""
        if self._observed(self._runs):
            return Run(self)
        return _UNOBSERVED_RUN
