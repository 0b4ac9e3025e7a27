"""The capability protocols a provider implements: sans-I/O, one per capability.

A provider object builds :class:`~payplane.HttpRequest` descriptions and parses
:class:`~payplane.HttpResponse` answers; it never performs I/O, so one implementation
serves the sync and the async client, and its tests need no network.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from payplane._http import HttpRequest, HttpResponse, PostbackAnswer
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    PostbackEvent,
    WithdrawalRequest,
    WithdrawalResult,
)

__all__ = [
    "ActivationProvider",
    "Capability",
    "DepositProvider",
    "PostbackProvider",
    "WithdrawalProvider",
]


@runtime_checkable
class DepositProvider(Protocol):
    """Start deposits: payment details to show the user and/or a hosted page URL."""

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
class ActivationProvider(Protocol):
    """Activate a deposit from the transaction id the user got from their wallet."""

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
class WithdrawalProvider(Protocol):
    """Create withdrawals (payouts)."""

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


@runtime_checkable
class PostbackProvider(Protocol):
    """Verify and parse postbacks (webhooks) the provider sends."""

    def verify_postback(self, body: bytes, headers: Mapping[str, str]) -> PostbackEvent:
        """Verify *body* and only then parse it into a :class:`~payplane.PostbackEvent`.

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

    @property
    def protocol(self) -> type:
        """The protocol a provider declaring this capability implements."""
        return _PROTOCOLS[self]


_PROTOCOLS: dict[Capability, type] = {
    Capability.DEPOSITS: DepositProvider,
    Capability.ACTIVATION: ActivationProvider,
    Capability.WITHDRAWALS: WithdrawalProvider,
    Capability.POSTBACKS: PostbackProvider,
}
