"""The hooks payplane calls, for provider plugins and observers.

A provider distribution registers a module under the ``payplane.providers`` entry-point
group (name: the provider id). payplane imports that module and registers it with its
``pluggy.PluginManager("payplane")``; the module implements :func:`payplane_providers`
with :data:`hookimpl`, and may implement the observation hooks. Keep that module cheap to
import: metadata and hook implementations only, the implementation behind
``"module:attribute"`` paths in :class:`~payplane.ProviderSpec`.

Hook implementations may declare any subset of a hook's arguments, by name; payplane may
add arguments to a hook in a later version, never remove or rename one.

Observation hooks come in pairs that open and close something: an operation of a client
(:func:`payplane_operation_started`, :func:`payplane_operation_finished`), one attempt at
an HTTP exchange (:func:`payplane_request_sent`, then :func:`payplane_response_received`
or :func:`payplane_request_failed`), a postback delivery
(:func:`payplane_postback_received`, :func:`payplane_postback_answered`) and one run of
the inbox's handler (:func:`payplane_postback_applying`, then
:func:`payplane_postback_applied` or :func:`payplane_postback_failed`). The closing hook
is called exactly once for each opening one, later, in the same thread (the same task
under asyncio), and pairs nest: an operation's attempts fall between its two hooks, a
handler run between its delivery's, and a client call made by a handler inside that run.
An observer may therefore keep what it opened in a :class:`contextvars.ContextVar`, as
tracing libraries do.

No payload shows a secret: requests, responses, errors and events are redacted as each
hook says, and no argument carries an exception from another library (an httpx error
holds its request's URL): a :class:`~payplane.exceptions.RedactedCause` stands in for it.

An exception raised by an implementation of :func:`payplane_request_sent` or
:func:`payplane_response_received` interrupts the call it observes (the flow is closed).
One raised by any other observation hook is logged (logger ``payplane.client`` or
``payplane.inbox``) and changes nothing: an observer cannot turn a payout that was made
into an error, nor an applied postback into a re-send.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from payplane._http import HttpRequest, HttpResponse
    from payplane._models import OtherEvent, PostbackEvent
    from payplane._spec import ProviderSpec
    from payplane._status import NeutralStatus
    from payplane.testing import ContractSamples

__all__ = [
    "OPERATION_OUTCOMES",
    "POSTBACK_OUTCOMES",
    "REJECTION_REASONS",
    "hookimpl",
    "hookspec",
    "payplane_contract_samples",
    "payplane_operation_finished",
    "payplane_operation_started",
    "payplane_postback_answered",
    "payplane_postback_applied",
    "payplane_postback_applying",
    "payplane_postback_dead",
    "payplane_postback_failed",
    "payplane_postback_received",
    "payplane_providers",
    "payplane_request_failed",
    "payplane_request_sent",
    "payplane_response_received",
]

PROJECT_NAME = "payplane"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in this module as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's function as an implementation of a payplane hook."""

OPERATION_OUTCOMES = frozenset({"ok", "declined", "unknown", "failed", "aborted"})
"""The outcomes :func:`payplane_operation_finished` reports.

``"ok"``: the call returned its result (whatever neutral status the result carries).
``"declined"``: the provider answered and said no
(:class:`~payplane.exceptions.ProviderDeclinedError` and its subclasses).
``"unknown"``: money may have moved (:class:`~payplane.exceptions.UnknownOutcomeError`):
look the reference up before anything else. ``"failed"``: any other payplane error
(refused before sending, transport, signature, an unparseable answer, a closed client).
``"aborted"``: the call raised something that is not a payplane error (a cancellation,
an interrupt, a provider's bug before any money moved)."""

POSTBACK_OUTCOMES = frozenset(
    {
        "applied",
        "recorded",
        "repeat",
        "ignored",
        "rejected",
        "failed",
        "busy",
        "unavailable",
        "error",
    }
)
"""The outcomes :func:`payplane_postback_answered` reports for a delivery.

Acknowledged (the provider stops re-sending): ``"applied"`` (a new event, its handler
committed), ``"recorded"`` (a new event, recorded to be applied later by a worker),
``"repeat"`` (a re-delivery of an event already applied or, in deferred
mode, already recorded), ``"ignored"`` (a verified event about
no payment: recorded, no handler runs). Refused for good: ``"rejected"`` (a 4xx answer;
see :data:`REJECTION_REASONS`). Asked to send again: ``"failed"`` (the handler raised),
``"busy"`` (another delivery of the event held it too long), ``"unavailable"`` (the
store could not be reached), ``"error"`` (a failure on payplane's side, such as a
provider's bug). Later versions may add outcomes: treat one you do not know as a class
of its own."""

REJECTION_REASONS = frozenset(
    {"signature", "malformed", "too_large", "unknown_provider", "unknown_account"}
)
"""Why a delivery was ``"rejected"``: ``"signature"`` (it did not verify),
``"malformed"`` (not a postback, or one that cannot be stored exactly), ``"too_large"``
(over the inbox's size limit), ``"unknown_provider"`` and ``"unknown_account"`` (the
inbox accepts no postbacks there). Later versions may add reasons."""


@hookspec
def payplane_providers() -> Sequence[ProviderSpec]:  # type: ignore[empty-body]
    """Return the providers this plugin offers.

    Called once per plugin when the registry loads; every plugin's specs are collected.
    Must not import the provider's implementation: give ``settings`` and ``factory`` as
    ``"module:attribute"`` paths.
    """


# -- clients ------------------------------------------------------------------------------


@hookspec
def payplane_operation_started(provider: str, operation: str, reference: str | None) -> None:
    """Called when a client call starts, before anything is checked or sent.

    Called by each public operation of :class:`~payplane.Client` and
    :class:`~payplane.AsyncClient` (``start_deposit``, ``activate_deposit``,
    ``create_withdrawal``, ``look_up``, ``create_refund``) and by ``run`` for a
    provider-specific flow; not by ``verify_postback`` and ``postback_answer``, which
    exchange nothing. :func:`payplane_operation_finished` follows, once.

    Args:
        provider: The provider id.
        operation: The operation's name (``"create_withdrawal"``; for ``run``, the name
            given or the flow's).
        reference: The platform's reference of the request (a payout's idempotency key),
            or ``None`` when it has none (a deposit without one, a lookup by the
            provider's id, a flow run).
    """


@hookspec
def payplane_operation_finished(  # noqa: PLR0917 - hooks take arguments by name
    provider: str,
    operation: str,
    reference: str | None,
    outcome: str,
    status: NeutralStatus | None,
    result: object | None,
    error: BaseException | None,
    attempts: int,
    retries: int,
    elapsed: float,
) -> None:
    """Called when the client call that :func:`payplane_operation_started` opened ends.

    Called once, whichever way the call ends, after the result or error is final (and
    redacted) and before the caller sees it.

    Args:
        provider: As for :func:`payplane_operation_started`.
        operation: As for :func:`payplane_operation_started`.
        reference: As given to :func:`payplane_operation_started`, or, when that was
            ``None``, the reference the result or an unknown-outcome error carries.
        outcome: One of :data:`OPERATION_OUTCOMES`.
        status: The neutral status of the result (a withdrawal's, a lookup's, an
            activation's outcome), or ``None`` (no result, or one without a status).
        result: The result, as the caller receives it, or ``None`` on an error.
        error: The :class:`~payplane.exceptions.PayplaneError` the call raises, redacted
            as the caller receives it; for any other exception, a
            :class:`~payplane.exceptions.RedactedCause` standing in for it
            (``original_type`` is its class; the call raises the original); ``None``
            on success.
        attempts: HTTP requests sent, retries included (0 when the call was refused
            before anything was sent).
        retries: How many of *attempts* were retries of a request already sent.
        elapsed: The call's duration, in seconds.
    """


@hookspec
def payplane_request_sent(provider: str, request: HttpRequest, attempt: int) -> None:
    """Called just before the client sends *request* to *provider*.

    *request* is redacted: every form of every secret setting reads ``***`` in its URL,
    header values and body, and credential headers (``Authorization``, ``Cookie``,
    ``X-API-Key``...) read ``***`` whatever their value. Called again for each retry;
    *attempt* counts them: 1 for the first try of a request, 2 for its first retry.
    :func:`payplane_response_received` or :func:`payplane_request_failed` follows, once.
    """


@hookspec
def payplane_response_received(
    provider: str, request: HttpRequest, response: HttpResponse, elapsed: float, attempt: int
) -> None:
    """Called when *provider* answered *request*, before the answer is parsed.

    *request* and *response* are redacted as for :func:`payplane_request_sent`: secrets
    read ``***`` in the URL, the header values and both bodies, credential headers
    (``Set-Cookie``...) are masked. *elapsed* is the exchange's duration in seconds;
    *attempt* as for :func:`payplane_request_sent`. Any status is an answer: a 503 that
    the client then retries is reported here.
    """


@hookspec
def payplane_request_failed(
    provider: str, request: HttpRequest, error: BaseException, elapsed: float, attempt: int
) -> None:
    """Called when an attempt at *request* ends without an answer.

    *request* is redacted as for :func:`payplane_request_sent`; *attempt* likewise.
    *elapsed* is the attempt's duration in seconds.

    *error* is what the attempt raises, redacted, its chain of causes included (the
    httpx error replaced by a :class:`~payplane.exceptions.RedactedCause`): a
    :class:`~payplane.exceptions.TransportError` (``retry_safe`` says whether the client
    may send it again), an :class:`~payplane.exceptions.UnknownOutcomeError` (a
    money-moving request was sent and its answer lost) or a
    :class:`~payplane.exceptions.ClientClosedError`. For anything else that interrupted
    the attempt (a cancellation), a :class:`~payplane.exceptions.RedactedCause`
    standing in for it. Whether the client retries is decided after this call.
    """


# -- the postback inbox -------------------------------------------------------------------


@hookspec
def payplane_postback_received(provider: str, account: str | None) -> None:
    """Called when the inbox starts handling a delivery, before anything is checked.

    *provider* (and *account*, ``None`` when the delivery names none) are where the
    delivery was sent: the inbox may accept no postbacks there, so they are the sender's
    words until :func:`payplane_postback_answered` says otherwise. That hook follows,
    once.
    """


@hookspec
def payplane_postback_answered(  # noqa: PLR0917 - hooks take arguments by name
    provider: str,
    account: str | None,
    event: PostbackEvent | OtherEvent | None,
    outcome: str,
    reason: str | None,
    status_code: int,
    elapsed: float,
) -> None:
    """Called once per delivery, with the answer the inbox gives the provider.

    Args:
        provider: As for :func:`payplane_postback_received`. With *reason*
            ``"unknown_provider"`` (or ``"unknown_account"`` for *account*) it is what
            the sender wrote: an observer that labels metrics with it must not trust it.
        account: As for :func:`payplane_postback_received`.
        event: The verified event (redacted: secrets left out), or ``None`` when the
            delivery was not verified.
        outcome: One of :data:`POSTBACK_OUTCOMES`.
        reason: For ``"rejected"``, one of :data:`REJECTION_REASONS`; otherwise ``None``.
        status_code: The HTTP status of the answer.
        elapsed: Seconds from :func:`payplane_postback_received` to the answer.
    """


@hookspec
def payplane_postback_applying(
    provider: str,
    account: str | None,
    event: PostbackEvent,
    replay: bool,  # noqa: FBT001 - hooks take arguments by name
) -> None:
    """Called just before the inbox's handler runs for *event*, inside its transaction.

    *account* is the merchant account the event belongs to (``None`` when the inbox
    has none for the provider); *replay* is true when an operator replays an applied
    event. During a delivery it falls between that delivery's two hooks; a deferred
    worker, a retry or a replay call it on their own. :func:`payplane_postback_applied`
    or :func:`payplane_postback_failed` follows, once: the handler's duration is the
    time between the two.
    """


@hookspec
def payplane_postback_applied(
    provider: str,
    account: str | None,
    event: PostbackEvent,
    replay: bool,  # noqa: FBT001 - hooks take arguments by name
) -> None:
    """Called after the inbox's handler for *event* committed.

    *account* is as for :func:`payplane_postback_applying` (``None`` for a provider's
    one account); *replay* is true when an operator replayed an already applied event.
    Called once per applied event (and once per replay), after the commit, so an
    observer that raises cannot undo the application. It closes the
    :func:`payplane_postback_applying` call made before the handler ran.
    """


@hookspec
def payplane_postback_failed(
    provider: str,
    account: str | None,
    event: PostbackEvent,
    error: BaseException,
    replay: bool,  # noqa: FBT001 - hooks take arguments by name
) -> None:
    """Called after the inbox's handler for *event* raised, or its commit failed.

    It closes the :func:`payplane_postback_applying` call made before the handler ran;
    *account* is as given there. Nothing the handler wrote through the transaction is
    kept; the event stays recorded, to be delivered or retried again. *error* is the
    handler's exception when it is a :class:`~payplane.exceptions.PayplaneError`
    (redacted), and otherwise a :class:`~payplane.exceptions.RedactedCause` standing in
    for it (``original_type`` is its class, its text has the provider's secrets
    replaced).

    A commit lost with the database connection after the handler ran is reported here
    too, *error* a stand-in whose ``original_type`` is :class:`ConnectionError`: whether
    that commit went through is unknown; the inbox's own retry (inline mode) or the
    event's recorded state tells.
    """


@hookspec
def payplane_postback_dead(
    provider: str,
    account: str | None,
    event: PostbackEvent,
    error: str | None,
    attempts: int,
) -> None:
    """Called when a deferred worker gives up on *event*: it is dead.

    Called once, when the run that made the event dead committed, right after that
    run's :func:`payplane_postback_failed`: by a worker (:meth:`Inbox.work
    <payplane.Inbox.work>`), a task's :meth:`Inbox.apply <payplane.Inbox.apply>`, or an
    operator's :meth:`Inbox.retry <payplane.Inbox.retry>` of a failed event in deferred
    mode. An event that was dead already and fails again (a retry without re-queueing
    it) is not reported again; one re-queued and dead once more is. A record whose
    event cannot be rebuilt at all is made dead without this hook (there is no event
    to give): its error is logged.

    A dead event is kept, and applied again only when an operator retries it. *error* is
    the last recorded failure (its text, secrets replaced) or ``None``; *attempts* how
    many times the handler ran for it since it was recorded (or last re-queued).
    """


@hookspec(firstresult=True)
def payplane_contract_samples(provider: str) -> ContractSamples | None:
    """Return the samples the contract suite checks *provider* with, or ``None``.

    Called only by :mod:`payplane.testing`'s contract suite, once per test class, with
    the id of the provider under test; the first non-``None`` answer is used. Answer
    for your own provider ids and return ``None`` for others. Import the samples inside
    the function, so the entry-point module stays cheap: the samples may load the
    implementation, but only when a test asks.
    """
