"""The provider through payplane's clients (mock transport): flows, retries, outcomes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import payplane
from payplane import (
    Beneficiary,
    DepositRequest,
    LookupRequest,
    Money,
    PaymentKind,
    RefundRequest,
    RetryPolicy,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import (
    MalformedPayloadError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane.hookspecs import hookimpl
from payplane_razorpay._contract import link_entity, payment_entity, payout_entity, refund_entity

FAST = RetryPolicy(attempts=3, wait_initial=0, wait_max=0, wait_jitter=0)
BENEFICIARY = Beneficiary(
    holder_name="Gaurav Kumar", account_number="765432123456789", bank_code="HDFC0000053"
)
WITHDRAWAL = WithdrawalRequest(
    customer_id="cust-1",
    amount=Money("1000.00", "INR"),
    reference="wd_0001",
    beneficiary=BENEFICIARY,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeRazorpay:
    """Answers Razorpay's endpoints with the samples; faults on a path when told."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.lose: dict[str, int] = {}  # path -> answers to lose (after processing)
        self.fail: dict[str, int] = {}  # path -> HTTP status to answer instead

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if path in self.fail:
            return httpx.Response(self.fail[path], json={"error": {"description": "boom"}})
        if self.lose.get(path, 0) > 0:
            self.lose[path] -= 1
            message = "read timed out"
            raise httpx.ReadTimeout(message, request=request)
        routes: dict[tuple[str, str], object] = {
            ("POST", "/v1/payment_links"): link_entity(),
            ("GET", "/v1/payment_links/plink_TestLink000001"): link_entity(status="paid"),
            ("POST", "/v1/contacts"): {"id": "cont_TestCont000001"},
            ("POST", "/v1/fund_accounts"): {"id": "fa_TestFund000001"},
            ("POST", "/v1/payouts"): payout_entity(),
            ("GET", "/v1/payments/pay_TestPay0000001"): payment_entity(),
            ("POST", "/v1/payments/pay_TestPay0000001/refund"): refund_entity(),
        }
        body = routes.get((request.method, path))
        if path == "/v1/payment_links" and request.method == "POST":
            sent = json.loads(request.content)
            body = link_entity(amount=sent["amount"], currency=sent["currency"])
        if body is None:
            return httpx.Response(
                400, json={"error": {"description": "The id provided does not exist"}}
            )
        return httpx.Response(200, json=body)

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        return [f"{r.method} {r.url.path}" for r in self.seen]


@pytest.fixture
def fake() -> FakeRazorpay:
    return FakeRazorpay()


@pytest.fixture
def client(kit: Any, fake: FakeRazorpay) -> Iterator[payplane.Client]:
    with payplane.client(
        "razorpay", kit.settings_values(), transport=httpx.MockTransport(fake), retry=FAST
    ) as client:
        yield client


def test_deposit(client: payplane.Client, fake: FakeRazorpay, kit: Any) -> None:
    """start_deposit creates the link with Basic auth and returns its page."""
    start = client.start_deposit(
        DepositRequest(
            customer_id="cust-1", currency="INR", amount=Money("500", "INR"), reference="dep_0001"
        )
    )
    assert start.hosted_page_url == "https://rzp.io/i/AbCdEfG"
    token = base64.b64encode(f"{kit.key_id}:{kit.key_secret}".encode()).decode()
    assert fake.seen[0].headers["authorization"] == f"Basic {token}"


def test_withdrawal(client: payplane.Client, fake: FakeRazorpay) -> None:
    """create_withdrawal drives the three steps as one operation."""
    result = client.create_withdrawal(WITHDRAWAL)
    assert result.status.status is WithdrawalStatus.PENDING
    assert fake.paths() == ["POST /v1/contacts", "POST /v1/fund_accounts", "POST /v1/payouts"]
    assert fake.seen[2].headers["x-payout-idempotency"] == "wd_0001"


def test_lookup_and_refund(client: payplane.Client, fake: FakeRazorpay) -> None:
    """look_up and create_refund run through the client."""
    found = client.look_up(
        LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="plink_TestLink000001")
    )
    refund = client.create_refund(
        RefundRequest(
            deposit_provider_reference="pay_TestPay0000001",
            amount=Money("250", "INR"),
            reference="refund-0001-abcdef",
        )
    )
    assert found.status.status.is_success
    assert refund.provider_reference == "rfnd_TestRfnd000001"


async def test_async_client(kit: Any, fake: FakeRazorpay) -> None:
    """The AsyncClient drives the same flows."""
    async with payplane.async_client(
        "razorpay", kit.settings_values(), transport=httpx.MockTransport(fake), retry=FAST
    ) as client:
        result = await client.create_withdrawal(WITHDRAWAL)
        found = await client.look_up(
            LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="plink_TestLink000001")
        )
    assert result.provider_reference == "pout_TestPout000001"
    assert found.provider_reference == "plink_TestLink000001"


def test_currency_per_capability(client: payplane.Client, fake: FakeRazorpay) -> None:
    """A USD withdrawal is refused by the client before building: INR only for payouts."""
    request = WithdrawalRequest(customer_id="c", amount=Money("10", "USD"), beneficiary=BENEFICIARY)
    with pytest.raises(ValidationError) as caught:
        client.create_withdrawal(request)
    assert (caught.value.field, caught.value.limit) == ("amount.currency", "INR for withdrawals")
    assert fake.seen == []


def test_usd_deposit_allowed(client: payplane.Client, fake: FakeRazorpay) -> None:
    """Deposits take Razorpay's international currencies."""
    request = DepositRequest(
        customer_id="c", currency="USD", amount=Money("5.00", "USD"), reference="d1"
    )
    client.start_deposit(request)
    assert json.loads(fake.seen[0].content)["currency"] == "USD"


def test_amount_beyond_paise_refused(client: payplane.Client, fake: FakeRazorpay) -> None:
    """An amount that does not fit paise is refused before anything is sent."""
    request = RefundRequest(
        deposit_provider_reference="pay_TestPay0000001", amount=Money("1.001", "INR")
    )
    with pytest.raises(ValidationError) as caught:
        client.create_refund(request)
    assert caught.value.field == "amount"
    assert fake.seen == []


def test_lost_contact_answer_is_retried(client: payplane.Client, fake: FakeRazorpay) -> None:
    """A lost answer at the contact step is retried (deduplicated by content)."""
    fake.lose["/v1/contacts"] = 1
    client.create_withdrawal(WITHDRAWAL)
    assert fake.paths().count("POST /v1/contacts") == 2


def test_lost_contact_answers_are_a_retry_safe_error(
    client: payplane.Client, fake: FakeRazorpay
) -> None:
    """Contact answers lost on every attempt: a retry-safe TransportError, no money moved."""
    fake.lose["/v1/contacts"] = 10
    with pytest.raises(TransportError) as caught:
        client.create_withdrawal(WITHDRAWAL)
    assert caught.value.retry_safe
    assert not isinstance(caught.value, UnknownOutcomeError)
    assert "POST /v1/payouts" not in fake.paths()


def test_lost_payout_answer_is_retried_with_the_same_key(
    client: payplane.Client, fake: FakeRazorpay
) -> None:
    """A lost payout answer is sent again with the same idempotency key and body."""
    fake.lose["/v1/payouts"] = 1
    result = client.create_withdrawal(WITHDRAWAL)
    payouts = [r for r in fake.seen if r.url.path == "/v1/payouts"]
    assert len(payouts) == 2
    assert {r.headers["x-payout-idempotency"] for r in payouts} == {"wd_0001"}
    assert payouts[0].content == payouts[1].content
    assert result.provider_reference == "pout_TestPout000001"


def test_lost_payout_answers_are_an_unknown_outcome(
    client: payplane.Client, fake: FakeRazorpay
) -> None:
    """Payout answers lost on every attempt: an unknown outcome carrying the reference."""
    fake.lose["/v1/payouts"] = 10
    with pytest.raises(UnknownOutcomeError) as caught:
        client.create_withdrawal(WITHDRAWAL)
    assert caught.value.reference == "wd_0001"


def test_server_error_on_payout_is_unknown_outcome(
    client: payplane.Client, fake: FakeRazorpay
) -> None:
    """A 500 to the payout request is an unknown outcome with the reference."""
    fake.fail["/v1/payouts"] = 500
    with pytest.raises(UnknownOutcomeError) as caught:
        client.create_withdrawal(WITHDRAWAL)
    assert caught.value.reference == "wd_0001"
    assert isinstance(caught.value.__cause__, MalformedPayloadError)


def test_server_error_on_refund_is_unknown_outcome(
    client: payplane.Client, fake: FakeRazorpay
) -> None:
    """A 500 to the refund request is an unknown outcome with the refund's reference."""
    fake.fail["/v1/payments/pay_TestPay0000001/refund"] = 500
    request = RefundRequest(
        deposit_provider_reference="pay_TestPay0000001", reference="refund-0002-abcdef"
    )
    with pytest.raises(UnknownOutcomeError) as caught:
        client.create_refund(request)
    assert caught.value.reference == "refund-0002-abcdef"


def test_busy_payout_endpoint_is_retried(client: payplane.Client, fake: FakeRazorpay) -> None:
    """503 on the (replay-safe) payout is retried; then its outcome is unknown.

    Each 503 may have come after RazorpayX acted, so giving up is an unknown outcome
    carrying the reference, retried later only with the same idempotency key.
    """
    fake.fail["/v1/payouts"] = 503
    with pytest.raises(UnknownOutcomeError) as caught:
        client.create_withdrawal(WITHDRAWAL)
    assert caught.value.reference == WITHDRAWAL.reference
    assert fake.paths().count("POST /v1/payouts") == FAST.attempts


def test_errors_carry_provider_and_operation(client: payplane.Client) -> None:
    """An error from a flow is stamped with the provider and the operation."""
    with pytest.raises(payplane.exceptions.NotFoundError) as caught:
        client.look_up(
            LookupRequest(kind=PaymentKind.REFUND, provider_reference="rfnd_Unknown0000001")
        )
    assert (caught.value.provider, caught.value.operation) == ("razorpay", "look_up")


class _Observer:
    def __init__(self) -> None:
        self.sent: list[payplane.HttpRequest] = []

    @hookimpl
    def payplane_request_sent(self, provider: str, request: payplane.HttpRequest) -> None:
        self.sent.append(request)


def test_hooks_never_see_the_key_secret(kit: Any, fake: FakeRazorpay) -> None:
    """An observer plugin sees no form of key_secret (the Basic token decodes to it)."""
    registry = payplane.Registry()
    observer = _Observer()
    registry.register(observer, name="observer")
    with registry.client(
        "razorpay", kit.settings_values(), transport=httpx.MockTransport(fake)
    ) as client:
        client.look_up(
            LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="plink_TestLink000001")
        )
    (sent,) = observer.sent
    token = sent.headers.get("authorization", "").removeprefix("Basic ")
    assert kit.key_secret not in base64.b64decode(token + "==").decode(errors="replace")
