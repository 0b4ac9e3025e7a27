"""The scenario of ``payplane demo`` for Paykassma Wavepay, through the public client API.

Every step checks that the sandbox and payplane behaved as documented in
``docs/howto/sandbox.md``; the amounts below follow from the sandbox's defaults
(:data:`DEFAULT_BALANCE`, :data:`DEFAULT_MINIMUM_DEPOSIT`).
"""

from __future__ import annotations

from typing import Any

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import InsufficientFundsError
from payplane_paykassma_wavepay._sandbox_state import (
    ACCOUNT_FAIL_SUFFIX,
    DEFAULT_BALANCE,
    DEFAULT_DEPOSIT_COPIES,
    DEFAULT_MINIMUM_DEPOSIT,
    KEY1_PENDING_PREFIX,
    KEY1_REJECTED_PREFIX,
    KEY1_REVIEW_PREFIX,
    MESSAGE_INSUFFICIENT,
)

__all__ = ["ACTIVATIONS", "WITHDRAWALS", "run"]

PROVIDER_ID = "paykassma_wavepay"


def _mmk(amount: int) -> Money:
    return Money(amount, "MMK")


ACTIVATIONS = (
    # (wallet transaction id, customer, amount, expected outcome)
    ("1000000001", "demo-user-1", 6000, ActivationOutcome.CREDITED),
    ("1000000002", "demo-user-2", 1000, ActivationOutcome.BELOW_MINIMUM),
    ("1000000003", "demo-user-2", 2000, ActivationOutcome.BELOW_MINIMUM),
    (f"{KEY1_PENDING_PREFIX}0000004", "demo-user-3", 7000, ActivationOutcome.PENDING),
    (f"{KEY1_REVIEW_PREFIX}00005", "demo-user-4", 6000, ActivationOutcome.UNDER_REVIEW),
    (f"{KEY1_REJECTED_PREFIX}0000006", "demo-user-5", 6000, ActivationOutcome.REJECTED),
)
"""The demo's activations: one per outcome, two below the minimum for one label."""

CREDITED_DEPOSITS = (("1000000001", 6000), (f"{KEY1_PENDING_PREFIX}0000004", 7000))
"""The deposits that end credited, by postback: (wallet transaction id, amount)."""

WITHDRAWALS = (
    ("09123456789", 20000, WithdrawalStatus.SUCCEEDED, 1),
    (f"0912345{ACCOUNT_FAIL_SUFFIX}", 15000, WithdrawalStatus.FAILED, 5),
)
"""The demo's withdrawals: (account, amount, final status, Paykassma status code)."""


def _details(result: payplane.ActivationResult) -> str:
    status = result.outcome.status
    if status is ActivationOutcome.CREDITED:
        return f"credited {result.credited}"
    if status is ActivationOutcome.BELOW_MINIMUM:
        return f"accumulated {result.accumulated}, {result.missing} missing"
    return result.message or ""


def _hosted_page(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    with harness.step("Hosted payment page (MMK)", ["what", "value"]) as table:
        start = client.start_deposit(
            DepositRequest(
                customer_id="demo-user-1",
                currency="MMK",
                amount=_mmk(6000),
                payment_details=False,
            )
        )
        url = start.hosted_page_url or ""
        page = url.partition("?")[0]
        fixed = "fixed_amount=6000" in url
        table.row("hosted page", page, ok=url.startswith(f"{harness.sandbox_url}/plugin/?"))
        table.row("amount on the page", "6000 MMK, fixed", ok=fixed)
        status = harness.get(url).status_code
        table.row("the page answers", f"HTTP {status}", ok=status == 200)  # noqa: PLR2004
        table.note(
            "The page's address carries the customer, the wallet, the currency and the "
            "amount: payplane builds it from the deposit request, with no API call."
        )


def _wallet_details(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    with harness.step("Wallet details", ["customer", "pay to (Wavepay number)"]) as table:
        start = client.start_deposit(
            DepositRequest(customer_id="demo-user-1", currency="MMK", hosted_page=False)
        )
        account = start.payment_details.account if start.payment_details else ""
        table.row("demo-user-1", account, ok=account.isdigit() and len(account) == 11)  # noqa: PLR2004


def _activations(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    columns = ["wallet transaction id", "customer", "amount", "outcome", "details"]
    with harness.step("Activation: the five outcomes", columns) as table:
        for transaction_id, label, amount, expected in ACTIVATIONS:
            result = client.activate_deposit(
                ActivationRequest(
                    customer_id=label, amount=_mmk(amount), transaction_id=transaction_id
                )
            )
            outcome = result.outcome.status
            table.row(
                transaction_id,
                label,
                amount,
                outcome.name,
                _details(result),
                ok=outcome is expected,
            )
        table.note(
            "The customer pays in the wallet app, then gives the platform the wallet's "
            f"transaction id. Below {DEFAULT_MINIMUM_DEPOSIT} MMK, transactions accumulate per "
            f"customer; an id starting {KEY1_PENDING_PREFIX} is confirmed later, by postback."
        )


def _deposit_postbacks(harness: Any) -> None:  # noqa: ANN401
    columns = ["deposit (wallet transaction id)", "amount", "delivered", "handler runs"]
    columns += ["ledger rows", "inbox"]
    with harness.step("Deposit postbacks: delivered twice, applied once", columns) as table:
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        for transaction_id, amount in CREDITED_DEPOSITS:
            key = f"ingoing:{transaction_id}"
            accepted = harness.delivered(key)
            runs, rows = harness.handler_runs(key), harness.ledger_rows(key)
            record = harness.record(key)
            state = record.state.value if record else "missing"
            event_amount = str(record.event.amount) if record else "-"
            table.row(
                transaction_id,
                event_amount,
                f"{accepted}x",
                runs,
                rows,
                state,
                ok=accepted == DEFAULT_DEPOSIT_COPIES
                and runs == 1
                and rows == 1
                and state == "applied"
                and event_amount == str(_mmk(amount)),
            )
        table.note(
            "Each postback was verified with Paykassma's postback keys, recorded, then applied "
            "once; the repeat was acknowledged without running the handler."
        )


def _withdrawals(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    columns = ["account", "amount", "answer", "by postback"]
    with harness.step("Withdrawals: completed by postback", columns) as table:
        created = []
        for account, amount, expected, code in WITHDRAWALS:
            result = client.create_withdrawal(
                WithdrawalRequest(
                    customer_id="demo-user-1",
                    amount=_mmk(amount),
                    account_number=account,
                    account_email="demo-user-1@example.com",
                )
            )
            created.append((account, amount, expected, code, result))
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        for account, amount, expected, code, result in created:
            record = harness.record(f"outgoing:{result.reference}:{code}")
            status = record.event.status.status if record else None
            table.row(
                account,
                amount,
                result.status.status.name,
                status.name if status else "no postback",
                ok=result.status.status is WithdrawalStatus.PENDING and status is expected,
            )
        table.note(
            f"An account number ending in {ACCOUNT_FAIL_SUFFIX} fails and releases its reserved "
            "amount; any other succeeds. Each ends by postback, applied once."
        )


def _insufficient(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    columns = ["balance", "available", "requested", "answer"]
    with harness.step("Insufficient balance", columns) as table:
        state = harness.get_json("/_sandbox/state")
        credited = sum(amount for _, amount in CREDITED_DEPOSITS)
        paid = sum(a for _, a, s, _ in WITHDRAWALS if s is WithdrawalStatus.SUCCEEDED)
        expected_balance = DEFAULT_BALANCE + credited - paid
        requested = state["available"] + 1
        answer, ok = "accepted", False
        try:
            client.create_withdrawal(
                WithdrawalRequest(
                    customer_id="demo-user-1",
                    amount=_mmk(requested),
                    account_number="09123456789",
                    account_email="demo-user-1@example.com",
                )
            )
        except InsufficientFundsError as exc:
            fields = dict(exc.field_errors)
            answer = f"{type(exc).__name__}: {MESSAGE_INSUFFICIENT}"
            ok = fields == {"withdrawals_sum_amount": (MESSAGE_INSUFFICIENT,)}
        table.row(
            state["balance"],
            state["available"],
            requested,
            answer,
            ok=ok and state["balance"] == expected_balance,
        )
        table.note(
            f"{DEFAULT_BALANCE} to start, + {credited} deposited, - {paid} paid out; "
            "the failed withdrawal released its reservation."
        )


def run(harness: Any) -> None:  # noqa: ANN401 - payplane's demo harness
    """Run every step against *harness* (``payplane._sandbox_demo.DemoHarness``)."""
    with payplane.client(PROVIDER_ID, harness.settings) as client:
        _hosted_page(harness, client)
        _wallet_details(harness, client)
        _activations(harness, client)
        _deposit_postbacks(harness)
        _withdrawals(harness, client)
        _insufficient(harness, client)
