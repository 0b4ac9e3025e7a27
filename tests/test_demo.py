"""`payplane demo` end to end: real sockets, the public sync and async client API.

The demo runs both providers behind one inbox (MMK through Paykassma Wavepay, INR
through Razorpay); `payplane demo PROVIDER` runs one provider's part. Its output is read
by people new to payplane: under 100 columns, neutral terms, no Python reprs.
"""

from __future__ import annotations

import re
import subprocess
import sys
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
from payplane._sandbox_demo import (
    WIDTH,
    DemoHarness,
    DemoRun,
    Table,
    demo_providers,
    describe_error,
    fit,
    run_demo,
)
from payplane._sandbox_table import render_table
from payplane.exceptions import InsufficientFundsError, ValidationError

WAVEPAY = "paykassma_wavepay"
RAZORPAY = "razorpay"

WAVEPAY_STEPS = (
    "Hosted payment page (MMK)",
    "Wallet details",
    "Activation: the five outcomes",
    "Deposit postbacks: delivered twice, applied once",
    "Withdrawals: completed by postback",
    "Insufficient balance",
)
RAZORPAY_STEPS = (
    "A payment link, paid (INR)",
    "Payouts to a bank account (IFSC) and to a UPI id",
    "A payout reversed after it was processed",
    "A partial refund of the deposit",
    "Webhooks: each delivered twice, applied once",
)
SHARED_STEPS = (
    "One inbox for every provider: each event applied once",
    "Each provider's postbacks verified with its own keys",
)


def _steps(*titles: str) -> list[str]:
    return [f"Step {number}. {title}" for number, title in enumerate(titles, start=1)]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payplane", "demo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def both() -> subprocess.CompletedProcess[str]:
    """`python -m payplane demo`, as a new user runs it (once for the module)."""
    return _demo()


@pytest.fixture
def harness() -> Iterator[DemoHarness]:
    """Wavepay's part of a demo run: its sandbox and the receiver, on free loopback ports."""
    lines: list[str] = []
    with DemoRun([WAVEPAY], lines.append) as run:
        yield run.harness(WAVEPAY)


# -- the command, as people see it ------------------------------------------------------


def test_demo_runs_both_providers_behind_one_inbox(
    both: subprocess.CompletedProcess[str],
) -> None:
    """`payplane demo` exits 0 after every step of both providers and of the one inbox."""
    assert both.returncode == 0, both.stdout + both.stderr
    shown = [line for line in both.stdout.splitlines() if line.startswith("Step ")]
    assert shown == _steps(*WAVEPAY_STEPS, *RAZORPAY_STEPS, *SHARED_STEPS)
    assert "All 13 steps behaved as documented" in both.stdout
    assert re.search(r"\bFAIL$|^\s*FAILED: ", both.stdout, re.MULTILINE) is None
    assert both.stderr == ""


def test_demo_shows_each_currency_through_its_provider(
    both: subprocess.CompletedProcess[str],
) -> None:
    """The one-inbox table: MMK through Wavepay, INR through Razorpay, every event once."""
    rows = {
        line.split("  ")[1].strip(): line.split()
        for line in both.stdout.splitlines()
        if line.startswith(("  Paykassma Wavepay  ", "  Razorpay  "))
        and line.rstrip().endswith("ok")
    }
    assert rows["Paykassma Wavepay"][2:] == ["MMK", "6", "4", "each", "once", "2", "ok"]
    # payment.captured and payment_link.paid report one deposit: one event of 11, 13 repeats.
    assert rows["Razorpay"][1:] == ["INR", "24", "11", "each", "once", "13", "ok"]


def test_demo_shows_razorpay_payments(both: subprocess.CompletedProcess[str]) -> None:
    """A link paid, payouts to IFSC and UPI, a reversal and a refund, each as documented."""
    out = both.stdout
    for fragment in (
        "bank account, IFSC HDFC0000053  INR 1000.00  PENDING  SUCCEEDED   SUCCEEDED",
        "UPI id demo.user7@exampleupi    INR 250.00   PENDING  SUCCEEDED   SUCCEEDED",
        "by webhook, in order  PENDING, SUCCEEDED, REVERSED",
        "INR 500.00  INR 200.00  PENDING  SUCCEEDED   SUCCEEDED",
        "withdrawal inr-payout-3  payout.reversed     REVERSED   INR 1000.52  2x",
    ):
        assert fragment in out


def test_demo_postbacks_are_refused_at_another_providers_endpoint(
    both: subprocess.CompletedProcess[str],
) -> None:
    """Each provider's postback is refused at the other's endpoint and a repeat at its own."""
    step = both.stdout.split("Each provider's postbacks verified with its own keys")[1]
    rows = [line.split() for line in step.splitlines() if line.endswith("  ok")]
    seen = [
        (next(word for word in row if word.startswith("/")), " ".join(row[row.index("HTTP") : -1]))
        for row in rows
    ]
    assert seen == [
        ("/razorpay", "HTTP 400, refused"),
        ("/paykassma_wavepay", "HTTP 200, a repeat"),
        ("/paykassma_wavepay", "HTTP 400, refused"),
        ("/razorpay", "HTTP 200, a repeat"),
    ]


def test_demo_output_fits_in_100_columns(both: subprocess.CompletedProcess[str]) -> None:
    """Every line of the demo is under 100 columns."""
    wide = [line for line in both.stdout.splitlines() if len(line) >= 100]
    assert wide == []


def test_demo_output_uses_neutral_terms_and_no_reprs(
    both: subprocess.CompletedProcess[str],
) -> None:
    """No wire field names, no Python reprs (dicts, tuples, bytes), no key of the run."""
    out = both.stdout + both.stderr
    for jargon in ("key1", "withdrawal_status", "ingoing:", "outgoing:", "reference_id"):
        assert jargon not in out
    assert re.search(r"\{'|\('|b'|b\"|Error\(", out) is None
    assert re.search(r"[0-9a-f]{32}", out) is None  # the run's keys


@pytest.mark.parametrize(
    ("provider", "titles"), [(WAVEPAY, WAVEPAY_STEPS), (RAZORPAY, RAZORPAY_STEPS)]
)
def test_demo_of_one_provider(provider: str, titles: tuple[str, ...]) -> None:
    """`payplane demo PROVIDER` runs that provider's part only, under 100 columns."""
    result = _demo(provider)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line for line in result.stdout.splitlines() if line.startswith("Step ")]
    assert shown == _steps(*titles)
    assert max(len(line) for line in result.stdout.splitlines()) < 100


def test_demo_providers_are_those_with_a_demo() -> None:
    """Without PROVIDER the demo runs every installed provider whose sandbox has one."""
    assert demo_providers() == [WAVEPAY, RAZORPAY]


# -- failures -------------------------------------------------------------------------------


def test_demo_fails_when_a_step_misbehaves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step whose outcome differs from the documented one makes the demo exit 1."""
    import payplane_paykassma_wavepay._sandbox_demo as scenario  # noqa: PLC0415

    wrong = (("1000000001", "demo-user-1", 6000, ActivationOutcome.REJECTED),)
    monkeypatch.setattr(scenario, "ACTIVATIONS", wrong)
    lines: list[str] = []
    assert run_demo(WAVEPAY, lines.append) == 1
    assert any(line.startswith("FAILED: step 3 (Activation") for line in lines)
    assert max(len(line) for line in lines) <= WIDTH


def test_razorpay_demo_fails_when_a_payout_is_not_reversed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A payout that is not reversed (no magic amount) fails Razorpay's reversal step."""
    import payplane_razorpay._sandbox_demo as scenario  # noqa: PLC0415

    to, beneficiary, _amount, reference = scenario.REVERSED
    monkeypatch.setattr(scenario, "REVERSED", (to, beneficiary, Money("1000.00", "INR"), reference))
    lines: list[str] = []
    assert run_demo(RAZORPAY, lines.append) == 1
    failed = [line for line in lines if line.startswith("FAILED: ")]
    assert failed[0].startswith("FAILED: step 3 (A payout reversed after it was processed)")


def test_an_error_in_a_step_is_shown_as_type_and_message() -> None:
    """An exception in a step fails it as 'TypeName: message', not as a repr."""
    lines: list[str] = []

    def breaks(table: Table) -> None:
        table.row("the next line raises")
        raise ValidationError("amount", "is not a number", limit="digits")

    with DemoRun([WAVEPAY], lines.append) as run:
        with run.step("Breaks", ["what"]) as table:
            breaks(table)
        failures = run.failures
    assert "  FAILED: ValidationError: amount: is not a number" in lines
    assert failures == ["step 1 (Breaks): ValidationError: amount: is not a number"]


def test_an_error_outside_the_steps_fails_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario that raises before its steps fails the demo with the error named."""
    import payplane_razorpay._sandbox_demo as scenario  # noqa: PLC0415

    def broken(_harness: object) -> None:
        raise KeyError("balance")

    monkeypatch.setattr(scenario, "run", broken)
    lines: list[str] = []
    assert run_demo(RAZORPAY, lines.append) == 1
    assert "FAILED: Razorpay: KeyError: 'balance'" in lines


# -- helpers ----------------------------------------------------------------------------------


def test_describe_error_names_type_and_message() -> None:
    """A payplane error shows its message; another its str; whitespace is collapsed."""
    declined = InsufficientFundsError("Insufficient\n balance", provider="x", operation="y")
    assert describe_error(declined) == (
        "InsufficientFundsError: declined by the provider: Insufficient balance"
    )
    assert describe_error(RuntimeError()) == "RuntimeError"


def test_fit_wraps_long_lines_with_their_indent() -> None:
    """A line over the width wraps at spaces, continuation indented two more."""
    line = "  " + " ".join(["word"] * 40)
    lines = fit(line, 40)
    assert all(len(piece) <= 40 for piece in lines)
    assert lines[0].startswith("  word")
    assert all(piece.startswith("    word") for piece in lines[1:])
    assert " ".join(piece.strip() for piece in lines) == line.strip()


def test_tables_are_narrowed_to_fit() -> None:
    """The widest column is cut (ending in …) so every line fits; headers stay whole."""
    rows = [["short", "x" * 120], ["also short", "y" * 10]]
    lines = render_table(["name", "a long value column"], rows, max_width=60)
    assert max(len(line) for line in lines) == 60
    assert lines[0].split() == ["name", "a", "long", "value", "column"]
    assert lines[2].endswith("…")
    assert lines[3].endswith("y" * 10)


def test_table_lines_fit_the_width() -> None:
    """A step's title, rows, notes and failures all fit in the demo's width."""
    table = Table(1, "A title " * 20, ["what", "value"])
    table.row("a", "v" * 200)
    table.note("note " * 60)
    table.row("b", "w" * 200, ok=False)
    assert max(len(line) for line in table.lines()) <= WIDTH


# -- the harness, through the API -------------------------------------------------------------


def test_demo_flow_sync(harness: DemoHarness) -> None:
    """Wavepay's demo scenario passes every check through the sync client."""
    harness.sandbox.plugin.function("run_demo")(harness)
    assert harness.run.failures == []
    assert len(harness.run.tables) == len(WAVEPAY_STEPS)


async def test_demo_flow_async(harness: DemoHarness) -> None:
    """The demo's lifecycle through the async client: deposit, postbacks, payouts, refusal."""
    async with payplane.async_client(WAVEPAY, harness.settings) as client:
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
        assert harness.delivered(key) == 2  # the sandbox sends each twice
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
    """If a sandbox cannot start, the receiver is stopped and the temporary files go."""
    import payplane._sandbox_demo  # noqa: PLC0415

    def refuse(_config: object) -> None:
        raise payplane.exceptions.ConfigurationError("cannot listen (test)")

    monkeypatch.setattr(payplane._sandbox_demo, "start_sandbox", refuse)
    run = DemoRun([WAVEPAY, RAZORPAY], lambda _line: None)
    with pytest.raises(payplane.exceptions.ConfigurationError, match="cannot listen"):
        run.start()
    assert run._receiver is not None
    assert run._receiver._thread is not None
    assert not run._receiver._thread.is_alive()
    assert not run.db_path.parent.exists()
