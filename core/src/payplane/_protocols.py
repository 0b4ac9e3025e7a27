"""The capability protocols a provider implements: sans-I/O, one per capability.

A provider object never performs I/O. Each request-building capability is one method
returning a :data:`~payplane.Flow`: a generator that yields the
:class:`~payplane.HttpRequest` descriptions to send and receives each
:class:`~payplane.HttpResponse` back, its return value being the neutral result. One
implementation serves the sync and the async client, which drive the flow (retries,
redaction, hooks and the unknown-outcome rule are theirs), and its tests need no network.

A single exchange is a generator with one ``yield``::

    def create_withdrawal(self, request):
        response = yield self.build_withdrawal(request)
        return self.parse_withdrawal(request, response)

Version 1 of the plugin API had a ``build_x``/``parse_x`` pair per capability; those
providers still load (with a deprecation warning) through :func:`adapt_v1`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from payplane._flow import Flow, single_step
from payplane._http import HttpRequest, HttpResponse, PostbackAnswer
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    LookupRequest,
    LookupResult,
    OtherEvent,
    PostbackEvent,
    RefundRequest,
    RefundResult,
    WithdrawalRequest,
    WithdrawalResult,
)

__all__ = [
    "ActivationProvider",
    "Capability",
    "DepositProvider",
    "LookupProvider",
    "PostbackProvider",
    "RefundProvider",
    "WithdrawalProvider",
    "adapt_v1",
]


@runtime_checkable
class DepositProvider(Protocol):
    """Start deposits: payment details to show the user and/or a hosted page URL."""

    def start_deposit(self, request: DepositRequest) -> Flow[DepositStart]:
        """Return the flow that starts *request*'s deposit.

        It yields nothing when no exchange is needed (a hosted page URL built locally),
        one request to fetch payment details or create a page, or several.

        Raises:
            ValidationError: the request breaks one of the provider's limits (before
                anything is sent).
            ProviderDeclinedError: the provider refused.
            MalformedPayloadError: an answer cannot be parsed.
        """
        ...


@runtime_checkable
class ActivationProvider(Protocol):
    """Activate a deposit from the transaction id the user got from their wallet."""

    def activate_deposit(self, request: ActivationRequest) -> Flow[ActivationResult]:
        """Return the flow that activates the deposit (its request has ``moves_money=True``).

        An answer it cannot classify raises
        :class:`~payplane.exceptions.MalformedPayloadError`; the client turns that into an
        :class:`~payplane.exceptions.UnknownOutcomeError`, never into a rejection.
        """
        ...


@runtime_checkable
class WithdrawalProvider(Protocol):
    """Create withdrawals (payouts)."""

    def create_withdrawal(self, request: WithdrawalRequest) -> Flow[WithdrawalResult]:
        """Return the flow that creates the payout; ``request.reference`` is its idempotency key.

        Every request of the flow carries ``reference=request.reference``; the one that
        moves money says ``moves_money=True`` (and ``replay_safe=True`` only when the
        provider honours an idempotency key). Registering the beneficiary first (a
        contact, a fund account, a transfer recipient) is part of the flow.

        Raises:
            ValidationError: a provider limit (before anything is sent).
            InsufficientFundsError: the merchant balance is too low.
            ProviderDeclinedError: the provider refused for another reason.
            MalformedPayloadError: an answer cannot be classified (the client reports an
                unknown outcome once the payout request may have acted).
            IntegrityError: the answer contradicts the request (another currency).
        """
        ...


@runtime_checkable
class LookupProvider(Protocol):
    """Look deposits, withdrawals and refunds up: where they stand now."""

    def look_up(self, request: LookupRequest) -> Flow[LookupResult]:
        """Return the flow that fetches the current state of what *request* names.

        Its requests are reads (``replay_safe=True``). It is the documented way to
        resolve an :class:`~payplane.exceptions.UnknownOutcomeError`.

        Raises:
            ValidationError: the provider cannot look this kind up by what was given.
            NotFoundError: the provider knows no such payment.
            MalformedPayloadError: an answer cannot be parsed.
        """
        ...


@runtime_checkable
class RefundProvider(Protocol):
    """Refund deposits, fully or partly."""

    def create_refund(self, request: RefundRequest) -> Flow[RefundResult]:
        """Return the flow that refunds (part of) a deposit; ``request.reference`` is its key.

        Raises:
            ValidationError: more than the deposit (or what is left of it), another
                currency, a provider limit (before the refund request is sent).
            NotFoundError: no such deposit.
            ProviderDeclinedError: the provider refused.
            MalformedPayloadError: an answer cannot be classified (an unknown outcome
                once the refund request may have acted).
        """
        ...


@runtime_checkable
class PostbackProvider(Protocol):
    """Verify and parse postbacks (webhooks) the provider sends."""

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Verify *body* and only then parse it into an event.

        *headers* has lower-cased names. A payment event is a
        :class:`~payplane.PostbackEvent`; a verified event about anything else (a dispute,
        a subscription) is an :class:`~payplane.OtherEvent`, never an error: the inbox
        acknowledges and ignores it, where a refusal would make the provider re-send it
        for days. The event key may come from the body or from a header (an event id).

        A provider object may declare ``postback_headers``, a frozenset of the
        (lower-case) header names it reads: the inbox stores them with each delivery so
        it can be verified again.

        Raises:
            PayloadTooLargeError: *body* is over the configured limit.
            SignatureError: the signature or the access key does not match.
            MalformedPayloadError: the body is not what a postback looks like.
        """
        ...

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """Return the HTTP answer that acknowledges a postback, or asks for it again.

        ``accepted=True``: the postback was recorded; ``accepted=False``: the provider
        must send it again later.
        """
        ...


class Capability(enum.Enum):
    """The capabilities a provider can declare, each tied to its protocol."""

    DEPOSITS = "deposits"
    ACTIVATION = "activation"
    WITHDRAWALS = "withdrawals"
    POSTBACKS = "postbacks"
    LOOKUPS = "lookups"
    REFUNDS = "refunds"

    @property
    def protocol(self) -> type:
        """The protocol a provider declaring this capability implements."""
        return _PROTOCOLS[self]


_PROTOCOLS: dict[Capability, type] = {
    Capability.DEPOSITS: DepositProvider,
    Capability.ACTIVATION: ActivationProvider,
    Capability.WITHDRAWALS: WithdrawalProvider,
    Capability.POSTBACKS: PostbackProvider,
    Capability.LOOKUPS: LookupProvider,
    Capability.REFUNDS: RefundProvider,
}


# -- plugin API version 1 ------------------------------------------------------------


@runtime_checkable
class V1DepositProvider(Protocol):
    """Plugin API 1: start deposits with a ``build``/``parse`` pair."""

    def build_deposit(self, request: DepositRequest) -> HttpRequest | None:
        """Return the request that fetches payment details, or ``None`` when none is needed.

        ``None`` is right when ``request.payment_details`` is false or the provider offers
        only a hosted page, whose URL :meth:`parse_deposit` builds without any exchange.

        Raises:
            ValidationError: the request breaks one of the provider's limits.
        """
        ...

    def parse_deposit(self, request: DepositRequest, response: HttpResponse | None) -> DepositStart:
        """Turn the answer to :meth:`build_deposit`'s request into a deposit start.

        *response* is ``None`` when no request was sent. Returns a
        :class:`~payplane.DepositStart`.

        Raises:
            ProviderDeclinedError: the provider refused.
            MalformedPayloadError: the answer cannot be parsed.
        """
        ...


@runtime_checkable
class V1ActivationProvider(Protocol):
    """Plugin API 1: activate deposits with a ``build``/``parse`` pair."""

    def build_activation(self, request: ActivationRequest) -> HttpRequest:
        """Return the activation request (it moves money: ``moves_money=True``).

        Raises:
            ValidationError: the request breaks one of the provider's limits.
        """
        ...

    def parse_activation(
        self, request: ActivationRequest, response: HttpResponse
    ) -> ActivationResult:
        """Map the answer onto an :class:`~payplane.ActivationResult`.

        An answer the provider cannot classify raises
        :class:`~payplane.exceptions.MalformedPayloadError`; the client turns that into an
        :class:`~payplane.exceptions.UnknownOutcomeError`, never into a rejection.
        """
        ...


@runtime_checkable
class V1WithdrawalProvider(Protocol):
    """Plugin API 1: create withdrawals with a ``build``/``parse`` pair."""

    def build_withdrawal(self, request: WithdrawalRequest) -> HttpRequest:
        """Return the signed withdrawal request (``moves_money=True``, ``reference`` set).

        Raises:
            ValidationError: the request breaks one of the provider's limits.
        """
        ...

    def parse_withdrawal(
        self, request: WithdrawalRequest, response: HttpResponse
    ) -> WithdrawalResult:
        """Map the answer onto a :class:`~payplane.WithdrawalResult`.

        Raises:
            InsufficientFundsError: the merchant balance is too low.
            ProviderDeclinedError: the provider refused for another reason.
            MalformedPayloadError: the answer cannot be classified (the client reports
                an unknown outcome).
            IntegrityError: the answer contradicts the request (another currency).
        """
        ...


V1_PROTOCOLS: dict[Capability, type] = {
    Capability.DEPOSITS: V1DepositProvider,
    Capability.ACTIVATION: V1ActivationProvider,
    Capability.WITHDRAWALS: V1WithdrawalProvider,
    Capability.POSTBACKS: PostbackProvider,
}
"""The protocols of plugin API version 1, which had no lookups or refunds."""


class _V1Adapter:
    """A version-1 provider object seen through the version-2 protocols."""

    def __init__(self, provider: Any) -> None:  # noqa: ANN401 - any v1 provider object
        self._provider = provider
        self.postback_headers: frozenset[str] = getattr(provider, "postback_headers", frozenset())

    def __repr__(self) -> str:
        return repr(self._provider)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - whatever the provider has
        return getattr(self._provider, name)

    def start_deposit(self, request: DepositRequest) -> Flow[DepositStart]:
        provider = self._provider
        http = provider.build_deposit(request)
        return single_step(http, lambda response: provider.parse_deposit(request, response))

    def activate_deposit(self, request: ActivationRequest) -> Flow[ActivationResult]:
        provider = self._provider
        http = provider.build_activation(request)
        return single_step(http, lambda response: provider.parse_activation(request, response))

    def create_withdrawal(self, request: WithdrawalRequest) -> Flow[WithdrawalResult]:
        provider = self._provider
        http = provider.build_withdrawal(request)
        return single_step(http, lambda response: provider.parse_withdrawal(request, response))

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        event: PostbackEvent | OtherEvent = self._provider.verify_postback(body, headers)
        return event

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        answer: PostbackAnswer = self._provider.postback_answer(accepted=accepted)
        return answer


def adapt_v1(provider: object) -> object:
    """Return *provider*, a plugin API 1 object, seen through the version-2 protocols.

    Its ``build_x`` runs when the flow is created (as version 1's client called it, so a
    ValidationError is raised before anything is sent) and ``parse_x`` on the answer.
    """
    return _V1Adapter(provider)
