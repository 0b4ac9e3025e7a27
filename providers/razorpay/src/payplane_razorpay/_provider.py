"""The Razorpay provider: sans-I/O flows, and webhook verification."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from payplane import (
    DepositRequest,
    DepositStart,
    Flow,
    LookupRequest,
    LookupResult,
    OtherEvent,
    PostbackAnswer,
    PostbackEvent,
    RefundRequest,
    RefundResult,
    WithdrawalRequest,
    WithdrawalResult,
)
from payplane_razorpay import _deposits, _lookups, _payouts, _refunds
from payplane_razorpay._api import Api
from payplane_razorpay._settings import RazorpaySettings
from payplane_razorpay._webhooks import POSTBACK_HEADERS, verify_webhook

__all__ = ["RazorpayProvider"]

_ANSWER_OK = PostbackAnswer(status_code=200)
_ANSWER_RETRY = PostbackAnswer(status_code=503)


class RazorpayProvider:
    """Razorpay: Payment Links, refunds, lookups, RazorpayX payouts, signed webhooks.

    Implements :class:`~payplane.DepositProvider`, :class:`~payplane.WithdrawalProvider`,
    :class:`~payplane.LookupProvider`, :class:`~payplane.RefundProvider` and
    :class:`~payplane.PostbackProvider` (plugin API 2). It performs no I/O: each
    operation is a flow of request descriptions that payplane's clients send.

    Args:
        settings: The provider settings.
        clock: Returns the current unix time (for the bounds of a link's expiry).

    Attributes:
        postback_headers: The headers a webhook delivery needs to be verified again:
            ``x-razorpay-signature`` and ``x-razorpay-event-id``.
    """

    postback_headers = POSTBACK_HEADERS

    def __init__(
        self, settings: RazorpaySettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._api = Api(settings)
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"<RazorpayProvider api_base_url={self.settings.api_base_url!r} "
            f"key_id={self.settings.key_id!r}>"
        )

    def start_deposit(self, request: DepositRequest) -> Flow[DepositStart]:
        """Create the deposit's Payment Link and return its hosted page.

        See :func:`payplane_razorpay._deposits.start_deposit` and the provider page.
        """
        return _deposits.start_deposit(request, self._api, self._clock)

    def create_withdrawal(self, request: WithdrawalRequest) -> Flow[WithdrawalResult]:
        """Pay out through RazorpayX: contact, fund account, payout (one flow)."""
        return _payouts.create_withdrawal(request, self._api)

    def look_up(self, request: LookupRequest) -> Flow[LookupResult]:
        """Fetch where a deposit, payout or refund stands (reads only)."""
        return _lookups.look_up(request, self._api)

    def create_refund(self, request: RefundRequest) -> Flow[RefundResult]:
        """Refund (part of) a captured payment, after checking what is left of it."""
        return _refunds.create_refund(request, self._api)

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PostbackEvent | OtherEvent:
        """Verify a webhook (``X-Razorpay-Signature`` over the raw body), then parse it.

        Raises:
            PayloadTooLargeError: over ``max_postback_bytes``.
            SignatureError: a missing or wrong signature.
            MalformedPayloadError: a signed body that is not a webhook.
        """
        return verify_webhook(body, headers, self.settings)

    def postback_answer(self, *, accepted: bool) -> PostbackAnswer:
        """Return 200 with an empty body when accepted; else 503, which Razorpay retries.

        Razorpay takes any 2xx within 5 seconds as delivered and retries anything else
        with backoff for 24 hours (https://razorpay.com/docs/webhooks/setup-edit-payments/).
        """
        return _ANSWER_OK if accepted else _ANSWER_RETRY
