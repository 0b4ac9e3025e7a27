"""The public API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

from datetime import timedelta
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
from payplane.exceptions import InsufficientFundsError, UnknownOutcomeError


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
            del reference
        except InsufficientFundsError:
            pass
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


def inbox_usage(settings: dict[str, str], dsn: str) -> None:
    def credit(event: payplane.PostbackEvent, transaction: payplane.InboxTransaction) -> None:
        transaction.connection.execute("SELECT 1")

    def hand_off(provider: str, account: str, event_key: str) -> None:
        del provider, account, event_key

    inbox = payplane.Inbox(
        payplane.PostgresStore(dsn),
        credit,
        accounts={"paykassma_wavepay": {"shop-a": settings, "shop-b": settings}},
        mode="deferred",
        on_recorded=hand_off,
        max_attempts=10,
        backoff=payplane.Backoff(initial=2.0, maximum=600.0),
    )
    answer = inbox.receive("paykassma_wavepay", b"{}", {}, account="shop-a")
    status: int = answer.status_code
    summary: payplane.WorkSummary = inbox.work(until_idle=True, lease=60.0)
    state: payplane.RecordState = inbox.apply("paykassma_wavepay", "key", account="shop-a")
    dispatched: int = inbox.sweep()
    page = inbox.records(state=payplane.RecordState.DEAD, account="shop-a", limit=50)
    if page:
        older = inbox.records(after=page[-1].id)
        del older
    for record in inbox.iter_records():
        account: str = record.account
        headers = dict(record.headers)
        del account, headers
    requeued: int = inbox.requeue_dead(provider="paykassma_wavepay")
    pruned: payplane.PruneResult = inbox.prune(applied_older_than=timedelta(days=90))
    del status, summary, state, dispatched, requeued, pruned
