"""The Razorpay sandbox: Razorpay's rules, documented magic values, signed webhooks."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import OtherEvent, PostbackEvent
from payplane.exceptions import ConfigurationError
from payplane_razorpay import RazorpayProvider
from payplane_razorpay._sandbox import (
    OPTIONS,
    client_settings,
    create_app,
    sign_postback,
    signed_postback,
)
from payplane_razorpay._sandbox_state import (
    ACCOUNT_NUMBER,
    FEES,
    KEY_ID,
    MAGIC_FAIL,
    MAGIC_SECOND,
    RazorpaySandbox,
    SandboxKeys,
)

NOW = 1_735_689_000


class FakeScheduler:
    """Keeps submitted webhooks; runs delayed callbacks when told."""

    def __init__(self) -> None:
        self.webhooks: list[tuple[str, bytes, dict[str, str]]] = []
        self.later: list[Callable[[], None]] = []

    def submit(
        self,
        body: bytes,
        *,
        label: str,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
        accepted: Callable[[int, bytes], bool] | None = None,
    ) -> int:
        self.webhooks.append((label, body, dict(headers or {})))
        return len(self.webhooks)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.later.append(callback)

    def run_later(self) -> None:
        while self.later:
            self.later.pop(0)()

    def events(self, provider: RazorpayProvider) -> list[Any]:
        """Every webhook verified through *provider* (so each one's signature is checked)."""
        return [provider.verify_postback(body, headers) for _, body, headers in self.webhooks]


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def sandbox(kit: Any, scheduler: FakeScheduler) -> RazorpaySandbox:
    keys = SandboxKeys(key_secret=kit.key_secret, webhook_secret=kit.webhook_secret)
    return RazorpaySandbox(keys, scheduler, balance=1_000_000, webhook_copies=1, clock=lambda: NOW)


@pytest.fixture
def verifier(kit: Any) -> RazorpayProvider:
    provider: RazorpayProvider = kit.provider()
    return provider


def _link(sandbox: RazorpaySandbox, amount: int = 50000, **fields: Any) -> dict[str, Any]:
    answer = sandbox.create_link(
        {"amount": amount, "currency": "INR", **fields}, "http://127.0.0.1:9"
    )
    assert answer.status == 200, answer.body
    return answer.body


def _paid_payment(sandbox: RazorpaySandbox, scheduler: FakeScheduler, amount: int = 50000) -> str:
    link = _link(sandbox, amount, reference_id=f"dep-{amount}")
    scheduler.run_later()
    payment_id: str = sandbox.links[link["id"]]["payments"][0]["payment_id"]
    return payment_id


def _beneficiary(sandbox: RazorpaySandbox, vpa: bool = False) -> str:
    contact = sandbox.create_contact(
        {"name": "Gaurav Kumar", "type": "customer", "reference_id": "cust-1"}
    )
    account: dict[str, Any] = (
        {"account_type": "vpa", "vpa": {"address": "gaurav@upi"}}
        if vpa
        else {
            "account_type": "bank_account",
            "bank_account": {
                "name": "Gaurav Kumar",
                "ifsc": "HDFC0000053",
                "account_number": "765432123456789",
            },
        }
    )
    fund = sandbox.create_fund_account({"contact_id": contact.body["id"], **account})
    fund_id: str = fund.body["id"]
    return fund_id


def _payout(fund_account_id: str, amount: int = 100000, **fields: Any) -> dict[str, Any]:
    return {
        "account_number": ACCOUNT_NUMBER,
        "fund_account_id": fund_account_id,
        "amount": amount,
        "currency": "INR",
        "mode": "IMPS",
        "purpose": "payout",
        **fields,
    }


# -- signing and auth ---------------------------------------------------------------------


def test_signed_postback_verifies(kit: Any, verifier: RazorpayProvider) -> None:
    """signed_postback's body and headers verify through the provider."""
    document = {
        "event": "payout.processed",
        "contains": ["payout"],
        "payload": {
            "payout": {
                "entity": {"id": "pout_1", "amount": 100, "currency": "INR", "status": "processed"}
            }
        },
    }
    body, headers = signed_postback(document, {"webhook_secret": kit.webhook_secret})
    assert body == sign_postback(document, {"webhook_secret": kit.webhook_secret})
    assert headers["x-razorpay-event-id"].startswith("evt_")
    assert isinstance(verifier.verify_postback(body, headers), PostbackEvent)


def test_signing_needs_the_webhook_secret() -> None:
    """Without webhook_secret signing is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError) as caught:
        sign_postback({"event": "x"}, {"key_secret": "kit-key-secret-0001"})
    assert caught.value.field == "webhook_secret"


def test_signing_refuses_a_non_webhook(kit: Any) -> None:
    """A document without an event string is not a webhook."""
    with pytest.raises(ValueError, match="event"):
        sign_postback({"payload": {}}, {"webhook_secret": kit.webhook_secret})


def _basic(key_id: str, secret: str, scheme: str = "Basic") -> str:
    return f"{scheme} " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def test_basic_auth(kit: Any, sandbox: RazorpaySandbox) -> None:
    """Only Basic (exactly) with the sandbox key id and key secret is let in."""
    assert sandbox.authorized(_basic(KEY_ID, kit.key_secret))
    for header in (
        _basic(KEY_ID, kit.key_secret, "basic"),
        _basic(KEY_ID, "wrong-secret-0001"),
        _basic("rzp_test_Other", kit.key_secret),
        "Basic !!!not-base64",
        "Bearer token",
        None,
    ):
        assert not sandbox.authorized(header)


def test_client_settings() -> None:
    """client_settings points at the sandbox with its key id and account number."""
    assert client_settings("http://127.0.0.1:5") == {
        "api_base_url": "http://127.0.0.1:5",
        "key_id": KEY_ID,
        "payout_account_number": ACCOUNT_NUMBER,
    }


def test_options_documented_and_checked(kit: Any) -> None:
    """Every option has a description; unknown or invalid options are refused by name."""
    assert all(description for description, _ in OPTIONS.values())

    class Config:
        def __init__(self, options: Mapping[str, object]) -> None:
            self.options = options

        def key(self, name: str) -> str:
            secret: str = {"key_secret": kit.key_secret, "webhook_secret": kit.webhook_secret}[name]
            return secret

    cases: list[tuple[dict[str, object], str]] = [
        ({"nope": 1}, "nope"),
        ({"payout_delay": 99}, "payout_delay"),
        ({"insufficient_funds": "x"}, "insufficient_funds"),
    ]
    for options, field in cases:
        with pytest.raises(ConfigurationError) as caught:
            create_app(Config(options), FakeScheduler())
        assert caught.value.field == field


# -- payment links -------------------------------------------------------------------------


def test_link_is_paid(
    sandbox: RazorpaySandbox, scheduler: FakeScheduler, verifier: RazorpayProvider
) -> None:
    """An ordinary amount: authorized, captured, link paid; every webhook verifies."""
    link = _link(sandbox, reference_id="dep_0001", notes={"payplane_reference": "dep_0001"})
    assert link["short_url"] == f"http://127.0.0.1:9/i/{link['id']}"
    scheduler.run_later()
    events = scheduler.events(verifier)
    assert [e.event_type for e in events] == [
        "payment.authorized",
        "payment.captured",
        "payment_link.paid",
    ]
    assert [e.status.status.name for e in events] == ["PENDING", "SUCCEEDED", "SUCCEEDED"]
    assert {e.reference for e in events} == {"dep_0001"}
    assert sandbox.links[link["id"]]["status"] == "paid"


@pytest.mark.parametrize(
    ("magic", "expected"),
    [
        (MAGIC_FAIL, ["payment.failed", "payment_link.expired"]),
        (MAGIC_SECOND, ["payment_link.expired"]),
    ],
)
def test_link_magic(
    sandbox: RazorpaySandbox,
    scheduler: FakeScheduler,
    verifier: RazorpayProvider,
    magic: int,
    expected: list[str],
) -> None:
    """Minor units ending in 51: the payment fails, the link expires; 52: it expires."""
    link = _link(sandbox, 50000 + magic)
    scheduler.run_later()
    events = scheduler.events(verifier)
    assert [e.event_type for e in events] == expected
    assert events[-1].status.status.name == "FAILED"
    assert sandbox.links[link["id"]]["status"] == "expired"


def test_cancelled_link_is_not_paid(sandbox: RazorpaySandbox, scheduler: FakeScheduler) -> None:
    """A link cancelled before it settles stays cancelled."""
    link = _link(sandbox)
    assert sandbox.cancel_link(link["id"]).status == 200
    scheduler.run_later()
    assert sandbox.links[link["id"]]["status"] == "cancelled"
    assert sandbox.cancel_link(link["id"]).status == 400


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 99}, "amount"),
        ({"amount": 100.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "KWD", "amount": 10001}, "amount"),
        ({"reference_id": "r" * 41}, "reference_id"),
        ({"expire_by": NOW + 60}, "expire_by"),
        ({"callback_url": "https://x.example"}, "callback_method"),
        ({"upi_link": True}, "upi_link"),
        ({"unknown": 1}, "unknown"),
        ({"notes": {"a": 1}}, "notes"),
    ],
)
def test_link_refusals(sandbox: RazorpaySandbox, fields: dict[str, Any], field: str) -> None:
    """Razorpay's rules, each refused with its field, and nothing created."""
    answer = sandbox.create_link({"amount": 50000, "currency": "INR", **fields}, "http://h")
    assert answer.status == 400
    assert answer.body["error"]["field"] == field
    assert sandbox.links == {}


def test_reused_reference(sandbox: RazorpaySandbox) -> None:
    """A second link with a reference_id is refused as "already attempted"."""
    _link(sandbox, reference_id="dep_0001")
    answer = sandbox.create_link({"amount": 50000, "reference_id": "dep_0001"}, "http://h")
    assert "already attempted" in answer.body["error"]["description"]
    assert len(sandbox.links) == 1


def test_list_links(sandbox: RazorpaySandbox) -> None:
    """Links list by reference_id in Razorpay's {"payment_links": [...]} shape."""
    _link(sandbox, reference_id="a")
    _link(sandbox, reference_id="b")
    listing = sandbox.list_links({"reference_id": "b"}).body["payment_links"]
    assert [link["reference_id"] for link in listing] == ["b"]


def test_unknown_ids(sandbox: RazorpaySandbox) -> None:
    """Unknown ids get Razorpay's 400 "The id provided does not exist"."""
    for answer in (
        sandbox.get_link("plink_x"),
        sandbox.get_payment("pay_x"),
        sandbox.get_refund("rfnd_x"),
        sandbox.get_payout("pout_x"),
    ):
        assert (answer.status, answer.body["error"]["description"]) == (
            400,
            "The id provided does not exist",
        )


# -- refunds -------------------------------------------------------------------------------


def test_refund_lifecycle(
    sandbox: RazorpaySandbox, scheduler: FakeScheduler, verifier: RazorpayProvider
) -> None:
    """A partial refund is pending, then processed; the payment shows what was refunded."""
    payment_id = _paid_payment(sandbox, scheduler)
    scheduler.webhooks.clear()
    answer = sandbox.create_refund(payment_id, {"amount": 20000}, "refund-key-0001")
    assert (answer.status, answer.body["status"]) == (200, "pending")
    assert sandbox.payments[payment_id]["refund_status"] == "partial"
    scheduler.run_later()
    assert [e.event_type for e in scheduler.events(verifier)] == [
        "refund.created",
        "refund.processed",
    ]
    assert sandbox.refunds[answer.body["id"]]["status"] == "processed"


def test_refund_idempotency(sandbox: RazorpaySandbox, scheduler: FakeScheduler) -> None:
    """Same key and body: the same refund; another body: refused; nothing doubled."""
    payment_id = _paid_payment(sandbox, scheduler)
    first = sandbox.create_refund(payment_id, {"amount": 20000}, "refund-key-0001")
    again = sandbox.create_refund(payment_id, {"amount": 20000}, "refund-key-0001")
    other = sandbox.create_refund(payment_id, {"amount": 30000}, "refund-key-0001")
    assert first.body["id"] == again.body["id"]
    assert other.status == 400
    assert sandbox.payments[payment_id]["amount_refunded"] == 20000


def test_refund_rules(sandbox: RazorpaySandbox, scheduler: FakeScheduler) -> None:
    """Over what is left, a short key, an unknown payment: refused, nothing changed."""
    payment_id = _paid_payment(sandbox, scheduler)
    over = sandbox.create_refund(payment_id, {"amount": 50001}, None)
    short_key = sandbox.create_refund(payment_id, {"amount": 100}, "short")
    unknown = sandbox.create_refund("pay_x", {}, None)
    assert "greater than amount captured" in over.body["error"]["description"]
    assert short_key.body["error"]["field"] == "X-Refund-Idempotency"
    assert unknown.status == 400
    assert sandbox.refunds == {}


def test_full_refund_then_none_left(sandbox: RazorpaySandbox, scheduler: FakeScheduler) -> None:
    """Without amount the rest is refunded; the payment is refunded; another is refused."""
    payment_id = _paid_payment(sandbox, scheduler)
    sandbox.create_refund(payment_id, {}, None)
    assert sandbox.payments[payment_id]["status"] == "refunded"
    again = sandbox.create_refund(payment_id, {}, None)
    assert again.body["error"]["description"] == "The payment has been fully refunded already."


def test_refund_magic_fails(
    sandbox: RazorpaySandbox, scheduler: FakeScheduler, verifier: RazorpayProvider
) -> None:
    """A refund whose minor units end in 51 fails, and the amount is back on the payment."""
    payment_id = _paid_payment(sandbox, scheduler)
    scheduler.webhooks.clear()
    sandbox.create_refund(payment_id, {"amount": 10000 + MAGIC_FAIL}, None)
    scheduler.run_later()
    assert [e.event_type for e in scheduler.events(verifier)] == ["refund.created", "refund.failed"]
    assert sandbox.payments[payment_id]["amount_refunded"] == 0


# -- RazorpayX -----------------------------------------------------------------------------


def test_contact_and_fund_account_dedup(sandbox: RazorpaySandbox) -> None:
    """Identical content returns the existing contact and fund account (200, same id)."""
    first = _beneficiary(sandbox)
    again = _beneficiary(sandbox)
    assert first == again
    assert (len(sandbox.contacts), len(sandbox.fund_accounts)) == (1, 1)


@pytest.mark.parametrize(
    ("account", "field"),
    [
        (
            {
                "account_type": "bank_account",
                "bank_account": {
                    "name": "Gaurav",
                    "ifsc": "HDFC000053",
                    "account_number": "765432123456789",
                },
            },
            "bank_account.ifsc",
        ),
        (
            {
                "account_type": "bank_account",
                "bank_account": {"name": "Gaurav", "ifsc": "HDFC0000053", "account_number": "1234"},
            },
            "bank_account.account_number",
        ),
        ({"account_type": "vpa", "vpa": {"address": "no-at"}}, "vpa.address"),
        ({"account_type": "card"}, "account_type"),
    ],
)
def test_fund_account_rules(sandbox: RazorpaySandbox, account: dict[str, Any], field: str) -> None:
    """IFSC, account number and VPA shapes are checked as RazorpayX does."""
    contact = sandbox.create_contact({"name": "Gaurav Kumar"}).body["id"]
    answer = sandbox.create_fund_account({"contact_id": contact, **account})
    assert (answer.status, answer.body["error"]["field"]) == (400, field)


def test_payout_processed(
    sandbox: RazorpaySandbox, scheduler: FakeScheduler, verifier: RazorpayProvider
) -> None:
    """A payout debits amount and fees, is processing, then processed."""
    fund = _beneficiary(sandbox)
    answer = sandbox.create_payout(_payout(fund, reference_id="wd_0001"), "wd_0001")
    assert (answer.body["status"], answer.body["fees"]) == ("processing", FEES)
    assert sandbox.balance == 1_000_000 - 100000 - FEES
    scheduler.run_later()
    events = scheduler.events(verifier)
    assert [e.event_type for e in events] == ["payout.initiated", "payout.processed"]
    assert events[-1].reference == "wd_0001"


def test_payout_idempotency(sandbox: RazorpaySandbox) -> None:
    """Same key and body: the same payout, debited once; another body: refused."""
    fund = _beneficiary(sandbox)
    first = sandbox.create_payout(_payout(fund), "key-0001")
    again = sandbox.create_payout(_payout(fund), "key-0001")
    other = sandbox.create_payout(_payout(fund, amount=200000), "key-0001")
    assert first.body["id"] == again.body["id"]
    assert (
        other.body["error"]["description"]
        == "Different request body sent for the same Idempotency Header."
    )
    assert len(sandbox.payouts) == 1
    assert sandbox.balance == 1_000_000 - 100000 - FEES


def test_payout_needs_idempotency_key(sandbox: RazorpaySandbox) -> None:
    """No X-Payout-Idempotency: refused with the field, as since March 2025."""
    answer = sandbox.create_payout(_payout(_beneficiary(sandbox)), None)
    assert answer.body["error"]["field"] == "X-Payout-Idempotency"


@pytest.mark.parametrize(
    ("magic", "events", "final"),
    [
        (MAGIC_FAIL, ["payout.initiated", "payout.failed"], "FAILED"),
        (MAGIC_SECOND, ["payout.initiated", "payout.processed", "payout.reversed"], "REVERSED"),
    ],
)
def test_payout_magic(  # noqa: PLR0917 - fixtures and parameters
    sandbox: RazorpaySandbox,
    scheduler: FakeScheduler,
    verifier: RazorpayProvider,
    magic: int,
    events: list[str],
    final: str,
) -> None:
    """51: the payout fails; 52: processed, then reversed; the money comes back."""
    sandbox.create_payout(_payout(_beneficiary(sandbox), amount=100000 + magic), "key-0001")
    scheduler.run_later()
    got = scheduler.events(verifier)
    assert [e.event_type for e in got] == events
    assert got[-1].status.status.name == final
    assert sandbox.balance == 1_000_000


def test_insufficient_funds_error(sandbox: RazorpaySandbox) -> None:
    """Over the balance (default): an API error with reason insufficient_funds; no payout."""
    answer = sandbox.create_payout(_payout(_beneficiary(sandbox), amount=2_000_000), "key-0001")
    assert answer.body["error"]["reason"] == "insufficient_funds"
    assert (sandbox.payouts, sandbox.balance) == ({}, 1_000_000)


def test_insufficient_funds_failed(kit: Any, scheduler: FakeScheduler) -> None:
    """With insufficient_funds="failed": a payout created failed for that reason."""
    keys = SandboxKeys(key_secret=kit.key_secret, webhook_secret=kit.webhook_secret)
    sandbox = RazorpaySandbox(keys, scheduler, balance=1000, insufficient_funds="failed")
    answer = sandbox.create_payout(_payout(_beneficiary(sandbox)), "key-0001")
    assert (answer.body["status"], answer.body["status_details"]["reason"]) == (
        "failed",
        "insufficient_funds",
    )


def test_queued_for_low_balance(sandbox: RazorpaySandbox) -> None:
    """With queue_if_low_balance, a payout over the balance is queued (low_balance)."""
    answer = sandbox.create_payout(
        _payout(_beneficiary(sandbox), amount=2_000_000, queue_if_low_balance=True), "key-0001"
    )
    assert (answer.body["status"], answer.body["status_details"]["reason"]) == (
        "queued",
        "low_balance",
    )
    assert sandbox.balance == 1_000_000


def test_list_payouts(sandbox: RazorpaySandbox) -> None:
    """Payouts list by reference_id; account_number is required."""
    fund = _beneficiary(sandbox)
    sandbox.create_payout(_payout(fund, reference_id="wd_1"), "key-0001")
    sandbox.create_payout(_payout(fund, reference_id="wd_2"), "key-0002")
    listing = sandbox.list_payouts({"account_number": ACCOUNT_NUMBER, "reference_id": "wd_2"})
    assert [p["reference_id"] for p in listing.body["items"]] == ["wd_2"]
    assert sandbox.list_payouts({"reference_id": "wd_2"}).status == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(field=st.sampled_from(sorted(_payout("fa_x"))), value=json_values, key=st.text(max_size=40))
def test_refused_payouts_change_nothing(kit: Any, field: str, value: object, key: str) -> None:
    """Whatever a refused payout request holds, the sandbox's state is unchanged."""
    scheduler = FakeScheduler()
    keys = SandboxKeys(key_secret=kit.key_secret, webhook_secret=kit.webhook_secret)
    sandbox = RazorpaySandbox(keys, scheduler, balance=500_000)
    data = {**_payout(_beneficiary(sandbox)), field: value}
    before = json.dumps(sandbox.snapshot(), sort_keys=True)
    answer = sandbox.create_payout(data, key)
    if answer.status != 200:
        assert json.dumps(sandbox.snapshot(), sort_keys=True) == before
        assert scheduler.webhooks == []


@given(
    data=st.dictionaries(
        st.sampled_from(["amount", "currency", "reference_id", "expire_by", "notes", "x"]),
        json_values,
    )
)
def test_refused_links_change_nothing(kit: Any, data: dict[str, Any]) -> None:
    """Whatever a refused link request holds, no link is created and nothing is sent."""
    scheduler = FakeScheduler()
    keys = SandboxKeys(key_secret=kit.key_secret, webhook_secret=kit.webhook_secret)
    sandbox = RazorpaySandbox(keys, scheduler)
    answer = sandbox.create_link(data, "http://h")
    if answer.status != 200:
        assert (sandbox.links, scheduler.later, scheduler.webhooks) == ({}, [], [])


def test_other_events_are_other(verifier: RazorpayProvider, kit: Any) -> None:
    """A signed event the provider does not map (a downtime) is an OtherEvent."""
    body, headers = signed_postback(
        {
            "event": "payout.downtime.started",
            "contains": ["payout.downtime"],
            "payload": {"payout.downtime": {"entity": {"id": "poutdown_1", "status": "started"}}},
            "created_at": NOW,
        },
        {"webhook_secret": kit.webhook_secret},
    )
    assert isinstance(verifier.verify_postback(body, headers), OtherEvent)
