"""The scenario of ``payplane demo`` for Razorpay (INR), through the public client API.

A payment link paid, payouts to a bank account (IFSC) and to a UPI id, a payout
reversed, a partial refund, and every webhook delivered twice and applied once. Each
step checks that the sandbox and payplane behaved as the provider page's sandbox
section documents; the amounts follow from its magic values (an amount ending in 52
paise is processed, then reversed) and defaults (:data:`DEFAULT_BALANCE`, :data:`FEES`).
"""

from __future__ import annotations

from typing import Any

import payplane
from payplane import (
    Beneficiary,
    DepositRequest,
    DepositStatus,
    LookupRequest,
    Money,
    PaymentKind,
    RefundRequest,
    RefundStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane_razorpay._sandbox_core import (
    DEFAULT_BALANCE,
    DEFAULT_WEBHOOK_COPIES,
    FEES,
    MAGIC_SECOND,
)

__all__ = ["DEPOSIT", "PAYOUTS", "REFUND", "REVERSED", "run"]

PROVIDER_ID = "razorpay"

DEPOSIT = DepositRequest(
    customer_id="demo-user-6",
    currency="INR",
    amount=Money("500.00", "INR"),
    reference="inr-deposit-1",
    customer_email="demo-user-6@example.com",
)
"""The deposit: a Payment Link for INR 500.00, paid a moment later."""

_BANK = Beneficiary(
    holder_name="Demo User Six", account_number="765432123456789", bank_code="HDFC0000053"
)
_UPI = Beneficiary(holder_name="Demo User Seven", vpa="demo.user7@exampleupi")

PAYOUTS = (
    ("bank account, IFSC HDFC0000053", _BANK, Money("1000.00", "INR"), "inr-payout-1"),
    ("UPI id demo.user7@exampleupi", _UPI, Money("250.00", "INR"), "inr-payout-2"),
)
"""The payouts that are processed: (paid to, beneficiary, amount, reference)."""

REVERSED = (
    "bank account, IFSC HDFC0000053",
    _BANK,
    Money(f"1000.{MAGIC_SECOND}", "INR"),
    "inr-payout-3",
)
"""The payout the bank reverses after it was processed (its paise end in 52)."""

REFUND = RefundRequest(
    deposit_reference=DEPOSIT.reference, amount=Money("200.00", "INR"), reference="inr-refund-1"
)
"""A partial refund of the deposit."""


def _inr(units: int) -> str:
    return _show(Money.from_minor_units(units, "INR"))


def _show(amount: Money | None) -> str:
    return "-" if amount is None else f"{amount.currency} {amount.amount}"


def _by_webhook(harness: Any, provider_reference: str | None) -> list[payplane.PostbackEvent]:  # noqa: ANN401
    return [e for e in harness.applied() if e.provider_reference == provider_reference]


def _deposit_events(harness: Any, reference: str | None) -> list[payplane.PostbackEvent]:  # noqa: ANN401
    kind = payplane.PostbackKind.DEPOSIT
    return [e for e in harness.applied() if e.kind is kind and e.reference == reference]


def _deposit(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    with harness.step("A payment link, paid (INR)", ["what", "value"]) as table:
        start = client.start_deposit(DEPOSIT)
        url = start.hosted_page_url or ""
        table.row("payment link (hosted page)", url, ok=url.startswith(f"{harness.sandbox_url}/i/"))
        status = harness.get(url).status_code
        table.row("the page answers", f"HTTP {status}", ok=status == 200)  # noqa: PLR2004
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        found = client.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference=DEPOSIT.reference))
        table.row(
            "looked up after the payment",
            f"{found.status.status.name}, {_show(found.amount)}",
            ok=found.status.status is DepositStatus.SUCCEEDED and found.amount == DEPOSIT.amount,
        )
        events = [e.status.status.name for e in _deposit_events(harness, DEPOSIT.reference)]
        table.row(
            "by webhook",
            ", ".join(events) or "nothing",
            ok=events[-1:] == [DepositStatus.SUCCEEDED.name],
        )
        table.note("One API call creates the link, which carries the deposit's reference.")


def _payout(
    client: payplane.Client, beneficiary: Beneficiary, amount: Money, reference: str
) -> payplane.WithdrawalResult:
    return client.create_withdrawal(
        WithdrawalRequest(
            customer_id="demo-user-6", amount=amount, reference=reference, beneficiary=beneficiary
        )
    )


def _payouts(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    columns = ["paid to", "amount", "answer", "by webhook", "looked up"]
    with harness.step("Payouts to a bank account (IFSC) and to a UPI id", columns) as table:
        made = [(to, _payout(client, who, amount, ref), amount) for to, who, amount, ref in PAYOUTS]
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        for to, result, amount in made:
            events = _by_webhook(harness, result.provider_reference)
            last = events[-1].status.status if events else None
            found = client.look_up(
                LookupRequest(kind=PaymentKind.WITHDRAWAL, reference=result.reference)
            )
            table.row(
                to,
                _show(amount),
                result.status.status.name,
                last.name if last else "nothing",
                found.status.status.name,
                ok=result.status.status is WithdrawalStatus.PENDING
                and last is WithdrawalStatus.SUCCEEDED
                and found.status.status is WithdrawalStatus.SUCCEEDED,
            )
        table.note(
            "Each payout is one call: RazorpayX's contact, fund account and payout, with the "
            "reference as the payout's idempotency key."
        )


def _reversed(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    with harness.step("A payout reversed after it was processed", ["what", "value"]) as table:
        to, beneficiary, amount, reference = REVERSED
        result = _payout(client, beneficiary, amount, reference)
        table.row(
            "payout, answered",
            f"{_show(amount)} to the {to}: {result.status.status.name}",
            ok=result.status.status is WithdrawalStatus.PENDING,
        )
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        statuses = [e.status.status for e in _by_webhook(harness, result.provider_reference)]
        table.row(
            "by webhook, in order",
            ", ".join(s.name for s in statuses) or "nothing",
            ok=statuses
            == [WithdrawalStatus.PENDING, WithdrawalStatus.SUCCEEDED, WithdrawalStatus.REVERSED],
        )
        found = client.look_up(
            LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference=result.provider_reference)
        )
        table.row(
            "looked up",
            found.status.status.name,
            ok=found.status.status is WithdrawalStatus.REVERSED,
        )
        balance = harness.get_json("/_sandbox/state")["balance"]
        paid = sum(a.to_minor_units(2) + FEES for _, _, a, _ in PAYOUTS)
        table.row("RazorpayX balance", _inr(balance), ok=balance == DEFAULT_BALANCE - paid)
        table.note(
            f"An amount ending in {MAGIC_SECOND} paise is processed, then reversed: the amount "
            f"and its fee come back. The balance is {_inr(DEFAULT_BALANCE)} less the two payouts "
            f"above, each with its fee of {_inr(FEES)}."
        )


def _refund(harness: Any, client: payplane.Client) -> None:  # noqa: ANN401
    columns = ["deposit", "refund", "answer", "by webhook", "looked up"]
    with harness.step("A partial refund of the deposit", columns) as table:
        result = client.create_refund(REFUND)
        if not harness.wait_for_postbacks():
            table.fail("the sandbox did not finish delivering in time")
        events = _by_webhook(harness, result.provider_reference)
        last = events[-1].status.status if events else None
        found = client.look_up(
            LookupRequest(kind=PaymentKind.REFUND, provider_reference=result.provider_reference)
        )
        table.row(
            _show(DEPOSIT.amount),
            _show(result.amount),
            result.status.status.name,
            last.name if last else "nothing",
            found.status.status.name,
            ok=result.status.status is RefundStatus.PENDING
            and result.amount == REFUND.amount
            and last is RefundStatus.SUCCEEDED
            and found.status.status is RefundStatus.SUCCEEDED,
        )
        table.note("payplane checks what is left of the payment before it asks for the refund.")


def _webhooks(harness: Any) -> None:  # noqa: ANN401
    columns = ["payment", "Razorpay event", "status", "amount", "delivered", "applied"]
    with harness.step("Webhooks: each delivered twice, applied once", columns) as table:
        events = harness.applied()
        if not events:
            table.fail("no webhook was applied")
        for event in events:
            key = event.event_key
            delivered = harness.delivered(key)
            runs, rows = harness.handler_runs(key), harness.ledger_rows(key)
            record = harness.record(key)
            table.row(
                f"{event.kind.value} {event.reference or event.provider_reference}",
                event.event_type,
                event.status.status.name,
                _show(event.amount),
                f"{delivered}x",
                f"{runs}x, {rows} row",
                ok=delivered >= DEFAULT_WEBHOOK_COPIES
                and delivered % DEFAULT_WEBHOOK_COPIES == 0
                and runs == 1
                and rows == 1
                and record is not None
                and record.state.value == "applied",
            )
        table.note(
            "Each webhook was verified with the webhook secret (its signature header), recorded, "
            "then applied once, its ledger row committed with the inbox's 'applied' mark; the "
            "second copy was acknowledged without running the handler. Razorpay reports a "
            "paid link twice (payment.captured, payment_link.paid): one deposit, one event, "
            "so it shows four deliveries and one run."
        )


def run(harness: Any) -> None:  # noqa: ANN401 - payplane's demo harness
    """Run every step against *harness* (``payplane._sandbox_demo.DemoHarness``)."""
    with payplane.client(PROVIDER_ID, harness.settings) as client:
        _deposit(harness, client)
        _payouts(harness, client)
        _reversed(harness, client)
        _refund(harness, client)
        _webhooks(harness)
