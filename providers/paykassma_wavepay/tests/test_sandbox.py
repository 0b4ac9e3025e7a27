"""The Wavepay sandbox: signing as Paykassma signs, documented magic values, balances."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    Money,
    PostbackKind,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import InsufficientFundsError, MalformedPayloadError, SignatureError
from payplane_paykassma_wavepay import WavepayProvider, verify_postback_body
from payplane_paykassma_wavepay._sandbox import OPTIONS, client_settings, sign_postback
from payplane_paykassma_wavepay._sandbox_state import (
    ACCOUNT_FAIL_SUFFIX,
    KEY1_PENDING_PREFIX,
    KEY1_REJECTED_PREFIX,
    KEY1_REVIEW_PREFIX,
    MESSAGE_BAD_SIGNATURE,
    MESSAGE_INSUFFICIENT,
    SandboxKeys,
    WavepaySandbox,
    postback_accepted,
    sign_postback_document,
)


class FakeScheduler:
    """Keeps submitted postbacks; runs delayed callbacks when told."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
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
        self.bodies.append((label, body))
        return len(self.bodies)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.later.append(callback)

    def run_later(self) -> None:
        while self.later:
            self.later.pop(0)()


@pytest.fixture
def keys(kit: Any) -> SandboxKeys:
    return SandboxKeys(
        pluginapi_secret=kit.pluginapi_secret,
        withdrawal_private_key=kit.withdrawal_key,
        postback_access_key=kit.access_key,
        postback_private_key=kit.private_key,
    )


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def sandbox(keys: SandboxKeys, scheduler: FakeScheduler) -> WavepaySandbox:
    return WavepaySandbox(keys, scheduler, balance=50_000)


def _activation(key1: str, amount: int, label: str = "55") -> dict[str, Any]:
    return {
        "currency_code": "MMK",
        "wallet_type": "wavepay",
        "label": label,
        "key1": key1,
        "amount": amount,
        "custom_transaction_id": f"ref-{key1}",
    }


def _withdrawal_fields(provider: WavepayProvider, account: str, amount: int) -> dict[str, Any]:
    return provider.withdrawal_payload(
        WithdrawalRequest(
            customer_id="55",
            amount=Money(amount, "MMK"),
            account_number=account,
            account_email="user@example.com",
        )
    )


# -- signing ------------------------------------------------------------------------------


def test_signing_reproduces_compact_vectors(vectors: dict[str, Any]) -> None:
    """Re-signing each compact vector's document yields the vector's body byte for byte."""
    compact = [v for v in vectors["postback"] if "\n" not in v["body"]]
    assert len(compact) == 4
    for vector in compact:
        document = json.loads(vector["body"])
        document["signature"] = "stale"
        body = sign_postback_document(document, vector["access_key"], vector["private_key"])
        assert vector["body"].encode() == body, vector["note"]


def test_signing_writes_php_style_json(kit: Any) -> None:
    """Slashes and non-ASCII text stay unescaped, and the result verifies."""
    document = {"direction": "ingoing", "additional_data": [{"comment": "a/b ငွေ"}]}
    body = sign_postback_document(document, kit.access_key, kit.private_key)
    assert '"comment":"a/b ငွေ"' in body.decode()
    verify_postback_body(body, kit.access_key, kit.private_key)


def test_sign_postback_needs_both_keys(kit: Any) -> None:
    """The CLI's signer names a missing postback key."""
    with pytest.raises(payplane.exceptions.ConfigurationError, match="postback_private_key"):
        sign_postback({"additional_data": []}, {"postback_access_key": kit.access_key})


def test_signing_refuses_a_document_without_signed_member(kit: Any) -> None:
    """A document with neither signed member is not a postback."""
    with pytest.raises(ValueError, match="additional_data"):
        sign_postback_document({"amount": 1}, kit.access_key, kit.private_key)


def test_acceptance_rule() -> None:
    """Only 200 with {"status":"ok"} stops re-sending."""
    assert postback_accepted(200, b'{"status":"ok"}')
    assert not postback_accepted(200, b'{"status":"error"}')
    assert not postback_accepted(503, b'{"status":"ok"}')
    assert not postback_accepted(200, b"ok")


# -- activation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key1", "status"),
    [
        ("1234567890", "ok"),
        (f"{KEY1_PENDING_PREFIX}123", "pending"),
        (f"{KEY1_REVIEW_PREFIX}123", "possible_transaction_created"),
        (f"{KEY1_REJECTED_PREFIX}123", "fail"),
    ],
)
def test_key1_chooses_the_answer(sandbox: WavepaySandbox, key1: str, status: str) -> None:
    """Each documented key1 prefix gives its answer."""
    assert status == sandbox.activate(_activation(key1, 6000))["status"]


def test_below_minimum_accumulates_per_label(
    sandbox: WavepaySandbox, scheduler: FakeScheduler, kit: Any
) -> None:
    """Small transactions of one label accumulate; reaching the minimum credits them all."""
    first = sandbox.activate(_activation("1000000001", 1000))
    other = sandbox.activate(_activation("1000000002", 2000, label="other"))
    second = sandbox.activate(_activation("1000000003", 5000))
    assert (first["deposit"], first["stockpiling_sum"], first["lacks_sum"]) == (False, 1000, 5000)
    assert (other["stockpiling_sum"], other["lacks_sum"]) == (2000, 4000)
    assert (second["deposit"], second["deposit_amount"]) == (True, 6000)
    event = kit.provider().verify_postback(scheduler.bodies[0][1], {})
    assert event.event_key == "ingoing:1000000001,1000000003"
    assert event.amount == Money(6000, "MMK")


def test_pending_is_credited_later_by_postback(
    sandbox: WavepaySandbox, scheduler: FakeScheduler, kit: Any
) -> None:
    """A pending activation sends no postback until the delayed confirmation runs."""
    sandbox.activate(_activation(f"{KEY1_PENDING_PREFIX}1", 7000))
    assert scheduler.bodies == []
    scheduler.run_later()
    event = kit.provider().verify_postback(scheduler.bodies[0][1], {})
    assert (event.kind, event.amount) == (PostbackKind.DEPOSIT, Money(7000, "MMK"))
    assert event.reference == f"ref-{KEY1_PENDING_PREFIX}1"


def test_deposit_postback_is_delivered_twice(
    sandbox: WavepaySandbox, scheduler: FakeScheduler
) -> None:
    """By default each deposit postback is queued twice, with the same body."""
    sandbox.activate(_activation("1000000001", 6000))
    assert len(scheduler.bodies) == 2
    assert scheduler.bodies[0][1] == scheduler.bodies[1][1]


def test_reused_key1_is_refused(sandbox: WavepaySandbox) -> None:
    """A transaction id activates once."""
    sandbox.activate(_activation("1000000001", 6000))
    assert sandbox.activate(_activation("1000000001", 6000))["status"] == "fail"


def test_activation_fields_are_checked(sandbox: WavepaySandbox) -> None:
    """A bad field is refused with a per-field message."""
    answer = sandbox.activate({**_activation("1", 6000), "amount": 1.5})
    assert list(answer["message"]) == ["amount"]


def test_credited_deposit_raises_the_balance(sandbox: WavepaySandbox) -> None:
    """A credited deposit adds to the merchant balance."""
    sandbox.activate(_activation("1000000001", 6000))
    assert sandbox.snapshot()["balance"] == 56_000


# -- withdrawals --------------------------------------------------------------------------


def test_bad_withdrawal_signature(sandbox: WavepaySandbox, kit: Any) -> None:
    """A withdrawal signed with another key is refused with Paykassma's message."""
    fields = _withdrawal_fields(kit.provider(withdrawal_private_key="other-key-1"), "0912345678", 1)
    assert sandbox.create_withdrawal(fields) == {"status": "fail", "message": MESSAGE_BAD_SIGNATURE}


def test_insufficient_balance_counts_unfinished_withdrawals(
    sandbox: WavepaySandbox, kit: Any
) -> None:
    """The balance must cover the new withdrawal plus those still unfinished."""
    provider = kit.provider()
    assert sandbox.create_withdrawal(_withdrawal_fields(provider, "0912345678", 30_000))[
        "status"
    ] == ("ok")
    answer = sandbox.create_withdrawal(_withdrawal_fields(provider, "0912345679", 30_000))
    assert answer == {
        "status": "fail",
        "message": {"withdrawals_sum_amount": [MESSAGE_INSUFFICIENT]},
    }


@pytest.mark.parametrize(
    ("account", "code", "status", "balance"),
    [
        ("09123456789", 1, WithdrawalStatus.SUCCEEDED, 40_000),
        (f"0912345{ACCOUNT_FAIL_SUFFIX}", 5, WithdrawalStatus.FAILED, 50_000),
    ],
)
def test_withdrawal_completes_by_postback(  # noqa: PLR0917 - fixtures and parameters
    sandbox: WavepaySandbox,
    scheduler: FakeScheduler,
    kit: Any,
    account: str,
    code: int,
    status: WithdrawalStatus,
    balance: int,
) -> None:
    """The account suffix picks status 1 or 5; success debits, failure releases."""
    provider = kit.provider()
    fields = _withdrawal_fields(provider, account, 10_000)
    sandbox.create_withdrawal(fields)
    assert sandbox.snapshot()["available"] == 40_000
    scheduler.run_later()
    event = provider.verify_postback(scheduler.bodies[0][1], {})
    assert event.event_key == f"outgoing:{fields['withdrawal_id']}:{code}"
    assert event.status.status is status
    assert (sandbox.snapshot()["balance"], sandbox.snapshot()["reserved"]) == (balance, 0)


def test_repeated_withdrawal_id_is_idempotent(sandbox: WavepaySandbox, kit: Any) -> None:
    """The same signed request twice reserves once; other fields under the id are refused."""
    provider = kit.provider()
    fields = _withdrawal_fields(provider, "09123456789", 10_000)
    sandbox.create_withdrawal(fields)
    assert sandbox.create_withdrawal(fields)["status"] == "ok"
    assert sandbox.snapshot()["reserved"] == 10_000
    changed = {**fields, "amount": 20_000}
    changed["signature"] = payplane_signature(changed, kit.withdrawal_key)
    assert sandbox.create_withdrawal(changed)["status"] == "fail"


def payplane_signature(fields: dict[str, Any], key: str) -> str:
    from payplane_paykassma_wavepay import withdrawal_signature  # noqa: PLC0415

    return withdrawal_signature(fields, key)


# -- the app, through the public client ----------------------------------------------------


@pytest.fixture
def app_client(keys: SandboxKeys, scheduler: FakeScheduler, kit: Any) -> Iterator[payplane.Client]:
    testclient = pytest.importorskip("starlette.testclient")
    from payplane_paykassma_wavepay._sandbox_app import build_app  # noqa: PLC0415

    app = build_app(WavepaySandbox(keys, scheduler, balance=50_000))
    base = "http://127.0.0.1:9"
    settings = kit.settings_values(**client_settings(base))
    with (
        testclient.TestClient(app, base_url=base) as http,
        payplane.client("paykassma_wavepay", settings, http_client=http) as client,
    ):
        yield client


def test_app_serves_wallet_details_and_hosted_page(app_client: payplane.Client) -> None:
    """Wallet details and the payment window work through the client."""
    start = app_client.start_deposit(DepositRequest(customer_id="55", currency="MMK"))
    assert start.payment_details is not None
    assert start.payment_details.account == WavepaySandbox.wallet_identifier("55")
    assert start.hosted_page_url is not None
    assert start.hosted_page_url.startswith("http://127.0.0.1:9/plugin/?label=55")


def test_app_answers_404_without_the_secret(kit: Any, app_client: payplane.Client) -> None:
    """A wrong pluginapi_secret gets Paykassma's 404; the client reports it as malformed."""
    settings = {**kit.settings_values(**client_settings("http://127.0.0.1:9"))}
    settings["pluginapi_secret"] = "wrong-secret-1"
    with (
        payplane.client(
            "paykassma_wavepay",
            settings,
            http_client=app_client._http,  # the TestClient
        ) as client,
        pytest.raises(MalformedPayloadError, match="404"),
    ):
        client.start_deposit(DepositRequest(customer_id="55", currency="MMK", hosted_page=False))


def test_app_activation_outcomes(app_client: payplane.Client) -> None:
    """The five outcomes come back through the client as documented."""
    outcomes = [
        app_client.activate_deposit(
            ActivationRequest(customer_id=label, amount=Money(amount, "MMK"), transaction_id=key1)
        ).outcome.status
        for key1, label, amount in [
            ("1000000001", "a", 6000),
            ("1000000002", "b", 1000),
            (f"{KEY1_PENDING_PREFIX}3", "c", 6000),
            (f"{KEY1_REVIEW_PREFIX}4", "d", 6000),
            (f"{KEY1_REJECTED_PREFIX}5", "e", 6000),
        ]
    ]
    assert outcomes == [
        ActivationOutcome.CREDITED,
        ActivationOutcome.BELOW_MINIMUM,
        ActivationOutcome.PENDING,
        ActivationOutcome.UNDER_REVIEW,
        ActivationOutcome.REJECTED,
    ]


def test_app_withdrawal_errors_map_to_exceptions(kit: Any, app_client: payplane.Client) -> None:
    """Insufficient balance and a bad signature become payplane's typed errors."""
    request = WithdrawalRequest(
        customer_id="55",
        amount=Money(60_000, "MMK"),
        account_number="09123456789",
        account_email="user@example.com",
    )
    with pytest.raises(InsufficientFundsError) as caught:
        app_client.create_withdrawal(request)
    assert dict(caught.value.field_errors) == {"withdrawals_sum_amount": (MESSAGE_INSUFFICIENT,)}
    settings = kit.settings_values(
        **client_settings("http://127.0.0.1:9"), withdrawal_private_key="wrong-key-12"
    )
    with (
        payplane.client("paykassma_wavepay", settings, http_client=app_client._http) as client,
        pytest.raises(SignatureError),
    ):
        client.create_withdrawal(request)


def test_options_are_documented() -> None:
    """Every scenario option has a description."""
    assert all(description for description, _ in OPTIONS.values())
