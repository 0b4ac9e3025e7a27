"""The real client against the Razorpay sandbox on loopback, webhooks into an inbox."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import payplane
from payplane import (
    Beneficiary,
    DepositRequest,
    DepositStatus,
    LookupRequest,
    Money,
    PaymentKind,
    PostbackKind,
    RefundRequest,
    RefundStatus,
    RetryPolicy,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import InsufficientFundsError, NotFoundError, SignatureError

sandbox_machinery = pytest.importorskip("payplane._sandbox")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

FAST_DELIVERY = sandbox_machinery.DeliveryPolicy(
    attempts=4, timeout=5.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01
)
FAST_RETRY = RetryPolicy(attempts=5, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
DELAYS = {"payment_delay": 0.05, "refund_delay": 0.05, "payout_delay": 0.05}
BANK = Beneficiary(
    holder_name="Gaurav Kumar", account_number="765432123456789", bank_code="HDFC0000053"
)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until *condition* holds (webhooks arrive on other threads); fail after *timeout*."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


class Receiver:
    """An inbox on SQLite behind payplane's ASGI app, on a loopback port."""

    def __init__(self, path: Path, settings: Mapping[str, object]) -> None:
        self.applied: list[payplane.PostbackEvent] = []
        self._lock = threading.Lock()
        self.inbox = payplane.Inbox(
            payplane.SQLiteStore(path), self._handle, providers={"razorpay": settings}
        )
        self.server = sandbox_machinery.ServerThread(payplane.postback_app(self.inbox))

    def _handle(self, event: payplane.PostbackEvent, _txn: object) -> None:
        with self._lock:
            self.applied.append(event)

    def events(self, event_type: str) -> list[payplane.PostbackEvent]:
        with self._lock:
            return [e for e in self.applied if e.event_type == event_type]


@pytest.fixture
def keys() -> dict[str, str]:
    return {"key_secret": secrets.token_hex(12), "webhook_secret": secrets.token_hex(12)}


@pytest.fixture
def running(tmp_path: Path, keys: dict[str, str]) -> Iterator[tuple[Any, Receiver]]:
    """A sandbox delivering to a receiver, both on loopback."""
    settings = {"key_id": "rzp_test_Sandbox00000001", **keys}
    receiver = Receiver(tmp_path / "inbox.sqlite3", settings)
    with receiver.server:
        config = sandbox_machinery.SandboxConfig(
            provider="razorpay",
            keys=keys,
            postback_url=f"{receiver.server.url}/razorpay",
            delivery=FAST_DELIVERY,
            options=DELAYS,
        )
        with sandbox_machinery.start_sandbox(config) as sandbox:
            yield sandbox, receiver


@pytest.fixture
def client(running: tuple[Any, Receiver]) -> Iterator[payplane.Client]:
    sandbox, _ = running
    with payplane.client("razorpay", sandbox.client_settings(), retry=FAST_RETRY) as client:
        yield client


def _state(sandbox: Any) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    return state


def _succeeded(receiver: Receiver, reference: str) -> list[payplane.PostbackEvent]:
    return [
        e
        for e in receiver.applied
        if e.kind is PostbackKind.DEPOSIT
        and e.reference == reference
        and e.status.status is DepositStatus.SUCCEEDED
    ]


def test_deposit_paid_and_refunded(running: tuple[Any, Receiver], client: payplane.Client) -> None:
    """A link is paid (webhooks applied once each), looked up, then partly refunded."""
    sandbox, receiver = running
    start = client.start_deposit(
        DepositRequest(
            customer_id="cust-1", currency="INR", amount=Money("500.00", "INR"), reference="dep-1"
        )
    )
    assert start.hosted_page_url is not None
    assert httpx.get(start.hosted_page_url).status_code == 200
    wait_for(lambda: bool(_succeeded(receiver, "dep-1")), "the deposit's SUCCEEDED event")
    found = client.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep-1"))
    assert found.status.status is DepositStatus.SUCCEEDED
    refund = client.create_refund(
        RefundRequest(
            deposit_reference="dep-1", amount=Money("200.00", "INR"), reference="refund-dep-1-a"
        )
    )
    assert refund.status.status is RefundStatus.PENDING
    wait_for(lambda: bool(receiver.events("refund.processed")), "refund.processed")
    looked = client.look_up(
        LookupRequest(kind=PaymentKind.REFUND, provider_reference=refund.provider_reference)
    )
    assert looked.status.status is RefundStatus.SUCCEEDED
    again = client.create_refund(
        RefundRequest(
            deposit_reference="dep-1", amount=Money("200.00", "INR"), reference="refund-dep-1-a"
        )
    )
    assert again.provider_reference == refund.provider_reference
    # Every webhook is delivered twice (at least once, as Razorpay does); each event is
    # applied once, and the webhooks that report the same deposit status
    # (payment.captured, payment_link.paid) are one event.
    wait_for(
        lambda: (counts := sandbox.deliverer.counts()).delivered == counts.postbacks,
        "every copy delivered",
    )
    keys = [e.event_key for e in receiver.applied]
    assert len(keys) == len(set(keys))
    assert len(_succeeded(receiver, "dep-1")) == 1
    assert sandbox.deliverer.counts().delivered > len(keys)


def test_payouts_processed_and_reversed(
    running: tuple[Any, Receiver], client: payplane.Client
) -> None:
    """Ordinary payouts are processed; 52 paise is processed then reversed."""
    sandbox, receiver = running
    paid = client.create_withdrawal(
        WithdrawalRequest(
            customer_id="cust-1", amount=Money("1000.00", "INR"), reference="wd-1", beneficiary=BANK
        )
    )
    reversed_ = client.create_withdrawal(
        WithdrawalRequest(
            customer_id="cust-1", amount=Money("1000.52", "INR"), reference="wd-2", beneficiary=BANK
        )
    )
    assert paid.status.status is WithdrawalStatus.PENDING
    wait_for(lambda: bool(receiver.events("payout.reversed")), "payout.reversed")
    wait_for(lambda: len(receiver.events("payout.processed")) == 2, "two payout.processed")
    by_reference = client.look_up(LookupRequest(kind=PaymentKind.WITHDRAWAL, reference="wd-1"))
    by_id = client.look_up(
        LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference=reversed_.provider_reference)
    )
    assert by_reference.status.status is WithdrawalStatus.SUCCEEDED
    assert by_id.status.status is WithdrawalStatus.REVERSED
    assert _state(sandbox)["balance"] == 100_000_000 - 100_000 - 590


def test_over_the_balance(running: tuple[Any, Receiver], client: payplane.Client) -> None:
    """A payout over the RazorpayX balance is InsufficientFundsError; nothing is debited."""
    sandbox, _ = running
    with pytest.raises(InsufficientFundsError):
        client.create_withdrawal(
            WithdrawalRequest(customer_id="c", amount=Money("2000000.00", "INR"), beneficiary=BANK)
        )
    assert _state(sandbox)["payouts"] == {}


def test_unknown_ids_are_not_found(client: payplane.Client) -> None:
    """Lookups of unknown ids through the real answers are NotFoundError."""
    with pytest.raises(NotFoundError):
        client.look_up(
            LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference="pout_Unknown0000001")
        )
    with pytest.raises(NotFoundError):
        client.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference="nobody"))


def test_wrong_key_secret(running: tuple[Any, Receiver]) -> None:
    """A wrong key_secret gets Razorpay's 401: a SignatureError naming the keys."""
    sandbox, _ = running
    settings = {**sandbox.client_settings(), "key_secret": "wrong-key-secret-1"}
    with (
        payplane.client("razorpay", settings) as client,
        pytest.raises(SignatureError, match="key_secret"),
    ):
        client.look_up(LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep"))


def test_unknown_url(running: tuple[Any, Receiver], keys: dict[str, str]) -> None:
    """An unknown URL gets Razorpay's 400 answer, not a 404 page."""
    sandbox, _ = running
    answer = httpx.get(
        f"{sandbox.url}/v1/nothing", auth=("rzp_test_Sandbox00000001", keys["key_secret"])
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["description"] == "The requested URL was not found on the server."


def test_dropped_answers_move_money_once(tmp_path: Path, keys: dict[str, str]) -> None:
    """Half the answers lost (after processing): retries with the same keys pay each once."""
    config = sandbox_machinery.SandboxConfig(
        provider="razorpay",
        keys=keys,
        faults=sandbox_machinery.FaultConfig(drop_rate=0.5, seed=7),
        delivery=FAST_DELIVERY,
        options=DELAYS,
    )
    retry = RetryPolicy(attempts=12, wait_initial=0.01, wait_max=0.02, wait_jitter=0, timeout=30)
    with (
        sandbox_machinery.start_sandbox(config) as sandbox,
        payplane.client("razorpay", sandbox.client_settings(), retry=retry) as client,
    ):
        for number in range(4):
            client.create_withdrawal(
                WithdrawalRequest(
                    customer_id="c",
                    amount=Money("100.00", "INR"),
                    reference=f"wd-{number}",
                    beneficiary=BANK,
                )
            )
            client.start_deposit(
                DepositRequest(
                    customer_id="c",
                    currency="INR",
                    amount=Money("10.00", "INR"),
                    reference=f"dep-{number}",
                )
            )
        state = _state(sandbox)
    assert len(state["payouts"]) == 4
    assert len(state["links"]) == 4
    assert state["balance"] == 100_000_000 - 4 * (10_000 + 590)
