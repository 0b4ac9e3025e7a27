"""`payplane demo` end to end: real sockets, the public sync and async client API."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    RecordState,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane._sandbox_demo import DemoHarness, run_demo
from payplane.exceptions import InsufficientFundsError

PROVIDER = "paykassma_wavepay"


@pytest.fixture
def harness() -> Iterator[DemoHarness]:
    """The demo's sandbox and receiver, on free loopback ports."""
    lines: list[str] = []
    with DemoHarness(PROVIDER, lines.append) as running:
        yield running


def test_demo_as_a_new_user_runs_it() -> None:
    """`python -m payplane demo` exits 0 with every step shown, fast, and no key printed."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "payplane", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "Step 1. Hosted payment page",
        "Step 2. Wallet details",
        "Step 3. Activation: the five outcomes",
        "Step 4. Deposit postbacks: delivered twice, applied once",
        "Step 5. Withdrawals: completed by postback",
        "Step 6. Insufficient balance",
        "All 6 steps behaved as documented",
    ):
        assert line in result.stdout
    for outcome in ("CREDITED", "BELOW_MINIMUM", "PENDING", "UNDER_REVIEW", "REJECTED"):
        assert outcome in result.stdout
    assert re.search(r"\bFAIL\b", result.stdout) is None  # no failed check
    assert re.search(r"[0-9a-f]{32}", result.stdout + result.stderr) is None  # the run's keys
    assert elapsed < 20


def test_demo_flow_sync(harness: DemoHarness) -> None:
    """The provider's demo scenario passes every check through the sync client."""
    harness.sandbox.plugin.function("run_demo")(harness)
    assert harness.failures == []
    assert len(harness.tables) == 6


def test_demo_fails_when_a_step_misbehaves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step whose outcome differs from the documented one makes the demo exit 1."""
    import payplane_paykassma_wavepay._sandbox_demo as scenario  # noqa: PLC0415

    wrong = (("1000000001", "demo-user-1", 6000, ActivationOutcome.REJECTED),)
    monkeypatch.setattr(scenario, "ACTIVATIONS", wrong)
    lines: list[str] = []
    assert run_demo(PROVIDER, lines.append) == 1
    assert any(line.startswith("FAILED: step 3 (Activation") for line in lines)


async def test_demo_flow_async(harness: DemoHarness) -> None:
    """The demo's lifecycle through the async client: deposit, postbacks, payouts, refusal."""
    async with payplane.async_client(PROVIDER, harness.settings) as client:
        start = await client.start_deposit(DepositRequest(customer_id="u1", currency="MMK"))
        assert start.payment_details is not None
        assert start.hosted_page_url is not None
        credited = await client.activate_deposit(
            ActivationRequest(
                customer_id="u1", amount=Money(6000, "MMK"), transaction_id="2000000001"
            )
        )
        pending = await client.activate_deposit(
            ActivationRequest(customer_id="u2", amount=Money(6000, "MMK"), transaction_id="PEND2")
        )
        payouts = [
            await client.create_withdrawal(
                WithdrawalRequest(
                    customer_id="u1",
                    amount=Money(1000, "MMK"),
                    account_number=account,
                    account_email="u1@example.com",
                )
            )
            for account in ("09111111111", "09111115555")
        ]
        with pytest.raises(InsufficientFundsError):
            await client.create_withdrawal(
                WithdrawalRequest(
                    customer_id="u1",
                    amount=Money(10_000_000, "MMK"),
                    account_number="09111111111",
                    account_email="u1@example.com",
                )
            )
    assert credited.outcome.status is ActivationOutcome.CREDITED
    assert pending.outcome.status is ActivationOutcome.PENDING
    assert harness.wait_for_postbacks()
    for key in ("ingoing:2000000001", "ingoing:PEND2"):
        record = harness.record(key)
        assert record is not None
        assert (record.state, harness.handler_runs(key), harness.ledger_rows(key)) == (
            RecordState.APPLIED,
            1,
            1,
        )
    statuses = []
    for payout, code in zip(payouts, (1, 5), strict=True):
        record = harness.record(f"outgoing:{payout.reference}:{code}")
        assert record is not None
        event = record.event
        assert isinstance(event, payplane.PostbackEvent)
        statuses.append(event.status.status)
    assert statuses == [WithdrawalStatus.SUCCEEDED, WithdrawalStatus.FAILED]
    accepted = [d for d in harness.deliveries() if d.accepted]
    assert len(accepted) == 2 + 2 + 2  # two deposits twice, two withdrawals once


def test_harness_that_fails_to_start_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the sandbox cannot start, the receiver is stopped and the temporary files go."""
    import payplane._sandbox_demo  # noqa: PLC0415

    def refuse(_config: object) -> None:
        raise payplane.exceptions.ConfigurationError("cannot listen (test)")

    monkeypatch.setattr(payplane._sandbox_demo, "start_sandbox", refuse)
    harness = DemoHarness(PROVIDER, lambda _line: None)
    with pytest.raises(payplane.exceptions.ConfigurationError, match="cannot listen"):
        harness.start()
    assert harness._receiver is not None
    assert harness._receiver._thread is not None
    assert not harness._receiver._thread.is_alive()
    assert not harness.db_path.parent.exists()
