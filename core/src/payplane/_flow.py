"""Multi-step operations, sans-I/O: a flow yields requests and receives responses.

A provider describes an operation as a generator (h11's rule: the protocol never touches a
socket): it yields each :class:`~payplane.HttpRequest` it needs sent and receives the
:class:`~payplane.HttpResponse` back from the ``yield``; its return value is the
operation's result. :class:`FlowRun` is what the sync and the async client share while
driving one: stepping the generator, refusing what is not a request, and the
unknown-outcome rule once money may have moved. The clients only send.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import GeneratorType
from typing import Generic, NoReturn, TypeVar

from payplane._http import HttpRequest, HttpResponse
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    PayplaneError,
    UnknownOutcomeError,
)

__all__ = ["Flow", "FlowRun", "single_step"]

T = TypeVar("T")

Flow = Generator[HttpRequest, HttpResponse, T]
"""A provider's operation: yields the requests to send, receives each answer, returns the
result. ``def create_withdrawal(self, request) -> Flow[WithdrawalResult]``."""


class FlowRun(Generic[T]):
    """One run of a flow: the part of driving it that the sync and async clients share.

    The driver calls :meth:`start`; while :attr:`request` is not ``None`` it sends it and
    calls :meth:`advance` with the answer, or raises what :meth:`failed` returns when
    sending failed (and calls :meth:`close` when anything else interrupts it);
    :attr:`result` holds the flow's return value once :attr:`request` is ``None``. The
    generator is finished or closed on every way out. The driver counts the requests it
    sent in :attr:`attempts`, and the retries among them in :attr:`retries`.

    The unknown-outcome rule: a money-moving request may have acted once it was sent.
    If the flow cannot classify its answer (it raises
    :class:`~payplane.exceptions.MalformedPayloadError`, or any exception that is not a
    :class:`~payplane.exceptions.PayplaneError`: a provider bug on an answer is no
    proof that nothing happened), or the answer was classified and anything *later* in
    the run fails (a lost answer, a refusal, a step that is not a request), the outcome
    of the whole operation is unknown: an
    :class:`~payplane.exceptions.UnknownOutcomeError` carrying that request's
    reference, chained to the cause. A failure before any money-moving request was
    answered is reported as what it is; a clear refusal of the money-moving request
    itself (:class:`~payplane.exceptions.ProviderDeclinedError`,
    :class:`~payplane.exceptions.IntegrityError`...) too. Whether a failed *send* of a
    money-moving request is an unknown outcome is the client's call (it knows whether
    the request left), made before :meth:`failed` sees the error.

    Args:
        flow: The provider's generator.
        provider: Provider id, for errors.
        operation: The operation's name, for errors.
    """

    __slots__ = (
        "_flow",
        "_moved",
        "attempts",
        "operation",
        "provider",
        "request",
        "result",
        "retries",
    )

    def __init__(self, flow: Flow[T], provider: str, operation: str) -> None:
        self._flow = flow
        self.provider = provider
        self.operation = operation
        self.request: HttpRequest | None = None
        self.result: T | None = None
        # Counted by the driver: requests sent, and how many of them were retries.
        self.attempts = 0
        self.retries = 0
        # The money-moving request answered earlier in this run, if any.
        self._moved: HttpRequest | None = None

    def start(self) -> None:
        """Run the flow to its first request (or to its result).

        Raises:
            PayplaneError: what the provider raised (a ValidationError: nothing was sent).
            ConfigurationError: the provider returned something that is not a flow, or
                the flow yielded something that is not an :class:`~payplane.HttpRequest`.
        """
        flow: object = self._flow
        if type(flow) is not GeneratorType and not isinstance(flow, Generator):
            # A coroutine has send() too, but it is an `async def` by mistake: not a flow.
            close = getattr(flow, "close", None)
            if close is not None:
                close()
            msg = (
                f"the provider's {self.operation} returned {type(flow).__name__}, not "
                "a flow (a generator that yields HttpRequest and returns the result)"
            )
            raise ConfigurationError(msg, provider=self.provider, operation=self.operation)
        try:
            step = flow.send(None)  # a fresh generator takes None
        except StopIteration as stop:
            self.result = stop.value
            return
        if type(step) is not HttpRequest and not isinstance(step, HttpRequest):
            self._refuse(step, None)
        self.request = step

    def advance(self, response: HttpResponse) -> None:
        """Hand *response* to the flow and run it to its next request (or its result).

        Raises:
            UnknownOutcomeError: see the class's rule.
            ConfigurationError: the flow yielded something that is not an
                :class:`~payplane.HttpRequest` (before any money moved).
            PayplaneError: what the provider raised, when no money can have moved.
        """
        sent = self.request
        self.request = None
        try:
            step = self._flow.send(response)
        except StopIteration as stop:
            self.result = stop.value
            return
        except PayplaneError as exc:
            if sent is not None and sent.moves_money and isinstance(exc, MalformedPayloadError):
                raise self._unknown(
                    sent, f"the answer cannot be classified: {exc.message}", exc
                ) from exc
            raise self._after_money(exc) from exc
        except Exception as exc:
            # Not a payplane error: a provider bug. After money may have moved it must
            # not read as a failure; before, it surfaces as it is.
            moved = sent if sent is not None and sent.moves_money else self._moved
            if moved is None:
                raise
            detail = f"the provider failed on the answer: {type(exc).__name__}: {exc}"
            raise self._unknown(moved, detail, exc) from exc
        if sent is not None and sent.moves_money:
            self._moved = sent
        if type(step) is not HttpRequest and not isinstance(step, HttpRequest):
            self._refuse(step, sent)
        self.request = step

    def failed(self, exc: PayplaneError) -> PayplaneError:
        """Close the flow; return the error to raise for a failed send of :attr:`request`.

        *exc* is what sending raised (the client already made a lost answer to a
        money-moving request an unknown outcome); after an earlier money-moving step,
        any failure is one.
        """
        self.request = None
        self._flow.close()
        return self._after_money(exc)

    def close(self) -> None:
        """Close the flow: the driver stops for a reason of its own (a cancellation)."""
        self.request = None
        self._flow.close()

    def _after_money(self, exc: PayplaneError) -> PayplaneError:
        moved = self._moved
        if moved is None or isinstance(exc, UnknownOutcomeError):
            return exc
        return self._unknown(moved, f"a later step failed: {exc.message}", exc)

    def _unknown(self, moved: HttpRequest, detail: str, cause: BaseException) -> PayplaneError:
        provider = cause.provider if isinstance(cause, PayplaneError) else None
        error = UnknownOutcomeError(
            detail,
            reference=moved.reference,
            provider=provider or self.provider,
            operation=self.operation,
        )
        error.__cause__ = cause
        return error

    def _refuse(self, step: object, sent: HttpRequest | None) -> NoReturn:
        """Close the flow over a *step* that is not a request; raise what that means."""
        self._flow.close()
        msg = (
            f"the {self.operation} flow yielded {type(step).__name__}, not an HttpRequest "
            "(a flow yields payplane.HttpRequest and returns its result)"
        )
        error = ConfigurationError(msg, provider=self.provider, operation=self.operation)
        moved = sent if sent is not None and sent.moves_money else self._moved
        if moved is not None:
            raise self._unknown(moved, f"a later step failed: {msg}", error) from error
        raise error


def single_step(request: HttpRequest | None, parse: Callable[[HttpResponse | None], T]) -> Flow[T]:
    """A flow of at most one exchange: send *request* (unless ``None``), return ``parse(answer)``.

    Version-1 providers' ``build_x``/``parse_x`` pairs run as such flows.
    """
    response = (yield request) if request is not None else None
    return parse(response)
