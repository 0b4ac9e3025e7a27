"""The public API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

from decimal import Decimal

import httpx

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import (
    ClientClosedError,
    InsufficientFundsError,
    RedactedCause,
    UnknownOutcomeError,
)


def sync_usage(settings: dict[str, str]) -> None:
    with payplane.client("paykassma_wavepay", settings) as client:
        start = client.start_deposit(DepositRequest(customer_id="u1", currency="MMK"))
        url: str | None = start.hosted_page_url
        result = client.activate_deposit(
            ActivationRequest(customer_id="u1", amount=Money("6000", "MMK"), transaction_id="123")
        )
        if result.outcome.status is ActivationOutcome.BELOW_MINIMUM and result.missing is not None:
            missing: Decimal = result.missing.amount
            del missing
        request = WithdrawalRequest(
            customer_id="u1",
            amount=Money(6000, "MMK"),
            account_number="01642234663",
            account_email="user@example.com",
        )
        try:
            payout = client.create_withdrawal(request)
        except UnknownOutcomeError as exc:
            reference: str | None = exc.reference
            if isinstance(exc.__cause__, RedactedCause):
                timed_out = issubclass(exc.__cause__.original_type, httpx.TimeoutException)
                del timed_out
            del reference
        except InsufficientFundsError:
            pass
        except ClientClosedError:
            closed: bool = client.is_closed
            del closed
        else:
            pending: bool = payout.status.status is WithdrawalStatus.PENDING
            del pending
        del url


async def async_usage(settings: dict[str, str]) -> None:
    async with payplane.async_client(
        "paykassma_wavepay", settings, transport=httpx.MockTransport(lambda _r: httpx.Response(200))
    ) as client:
        start = await client.start_deposit(DepositRequest(customer_id="u1", currency="MMK"))
        event = client.verify_postback(b"{}", {})
        total: Money = event.amount + Money(1, "MMK")
        del start, total
