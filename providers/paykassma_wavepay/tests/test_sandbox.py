"""The Wavepay sandbox: signing as Paykassma signs, documented magic values, balances."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from payplane_paykassma_wavepay._sandbox import (
    OPTIONS,
    _options,
    client_settings,
    sign_postback,
)
from payplane_paykassma_wavepay._sandbox_state import (
    ACCOUNT_FAIL_SUFFIX,
    KEY1_PENDING_PREFIX,
    KEY1_REJECTED_PREFIX,
    KEY1_REVIEW_PREFIX,
    MAXIMUM_AMOUNT,
    MESSAGE_AMOUNT,
    MESSAGE_BAD_SIGNATURE,
    MESSAGE_INSUFFICIENT,
    SandboxKeys,
    WavepaySandbox,
    postback_accepted,
    sign_postback_document,
    whole_amount,
)
from payplane_paykassma_wavepay._signing import withdrawal_signature


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


# -- refused requests change nothing; nothing a client sends gets a 5xx ------------------------

ODD_AMOUNTS: list[object] = [
    10**30,
    MAXIMUM_AMOUNT + 1,
    0,
    -1,
    -6000,
    1.5,
    6000.5,
    1e-9,
    1e300,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    None,
    "",
    " 6000",
    "6000 ",
    "+6000",
    "-6000",
    "6e3",
    "6_000",
    "\uff16\uff10\uff10\uff10",  # fullwidth digits
    "\u0666\u0660\u0660\u0660",  # Arabic-Indic digits
    "6000.5",
    "0x1770",
    "NaN",
    "Infinity",
    "1" + "0" * 40,
    [6000],
    {"amount": 6000},
]
"""Amounts no operation may take: huge, tiny, negative, zero, fractional, odd text."""


def _state(sandbox: WavepaySandbox, scheduler: FakeScheduler) -> tuple[object, ...]:
    """Everything a request could change, postbacks and scheduled work included."""
    return (
        sandbox.snapshot(),
        sorted(sandbox._used_key1),
        dict(sandbox._stockpile_ids),
        sandbox._next_stockpile,
        list(scheduler.bodies),
        len(scheduler.later),
    )


def _signed(fields: dict[str, Any], key: str) -> dict[str, Any]:
    """*fields* with a correct signature, or a wrong one when they cannot be signed."""
    try:
        signature = withdrawal_signature(fields, key)
    except (TypeError, ValueError):
        signature = "0" * 40
    return {**fields, "signature": signature}


@pytest.mark.parametrize("amount", ODD_AMOUNTS, ids=repr)
def test_odd_activation_amount_changes_nothing(
    sandbox: WavepaySandbox, scheduler: FakeScheduler, amount: object
) -> None:
    """An activation with an amount out of range or not a whole number is refused, no trace."""
    sandbox.activate(_activation("1000000001", 1000))  # a stockpile to leave alone
    before = _state(sandbox, scheduler)
    answer = sandbox.activate({**_activation("1000000002", 6000), "amount": amount})
    assert answer == {"status": "fail", "message": {"amount": [MESSAGE_AMOUNT]}}
    assert before == _state(sandbox, scheduler)


@pytest.mark.parametrize("amount", ODD_AMOUNTS, ids=repr)
def test_odd_withdrawal_amount_changes_nothing(
    sandbox: WavepaySandbox, scheduler: FakeScheduler, kit: Any, amount: object
) -> None:
    """A withdrawal with an odd amount, signed when it can be, is refused, no trace."""
    fields = _withdrawal_fields(kit.provider(), "09123456789", 1000)
    before = _state(sandbox, scheduler)
    answer = sandbox.create_withdrawal(_signed({**fields, "amount": amount}, kit.withdrawal_key))
    assert answer["status"] == "fail"
    assert before == _state(sandbox, scheduler)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1, 1),
        (MAXIMUM_AMOUNT, MAXIMUM_AMOUNT),
        (6000.0, 6000),
        ("6000", 6000),
        ("6000.00", 6000),
        ("006000", 6000),
        (str(MAXIMUM_AMOUNT), MAXIMUM_AMOUNT),
    ],
)
def test_whole_amounts_accepted(amount: object, expected: int) -> None:
    """Whole amounts from 1 to the maximum pass, as integers, integral floats or ASCII text."""
    assert expected == whole_amount(amount)


def test_activation_of_the_maximum_is_credited_exactly(
    keys: SandboxKeys, scheduler: FakeScheduler, kit: Any
) -> None:
    """The largest amount is credited and its postback carries it exactly."""
    sandbox = WavepaySandbox(keys, scheduler, balance=0)
    answer = sandbox.activate(_activation("1000000001", MAXIMUM_AMOUNT))
    event = kit.provider().verify_postback(scheduler.bodies[0][1], {})
    assert (answer["deposit_amount"], sandbox.balance) == (MAXIMUM_AMOUNT, MAXIMUM_AMOUNT)
    assert Money(MAXIMUM_AMOUNT, "MMK") == event.amount


def test_withdrawal_of_the_maximum_completes(
    keys: SandboxKeys, scheduler: FakeScheduler, kit: Any
) -> None:
    """The largest withdrawal is accepted, debited and reported by a postback that verifies."""
    sandbox = WavepaySandbox(keys, scheduler, balance=MAXIMUM_AMOUNT)
    provider = kit.provider()
    assert (
        sandbox.create_withdrawal(_withdrawal_fields(provider, "09123456789", MAXIMUM_AMOUNT))[
            "status"
        ]
        == "ok"
    )
    scheduler.run_later()
    event = provider.verify_postback(scheduler.bodies[0][1], {})
    assert (sandbox.balance, event.amount) == (0, Money(MAXIMUM_AMOUNT, "MMK"))


def test_huge_activation_through_the_client_is_rejected_without_trace(
    app_client: payplane.Client, scheduler: FakeScheduler
) -> None:
    """Money(10**30, "MMK") through the client: a REJECTED outcome naming the amount, no credit."""
    result = app_client.activate_deposit(
        ActivationRequest(customer_id="55", amount=Money(10**30, "MMK"), transaction_id="123")
    )
    assert result.outcome.status is ActivationOutcome.REJECTED
    assert result.message == f"amount: {MESSAGE_AMOUNT}"
    assert scheduler.bodies == []
    assert scheduler.later == []


@pytest.fixture
def http(keys: SandboxKeys, scheduler: FakeScheduler) -> Iterator[tuple[Any, WavepaySandbox]]:
    """A TestClient over the sandbox app, and the sandbox behind it."""
    testclient = pytest.importorskip("starlette.testclient")
    from payplane_paykassma_wavepay._sandbox_app import build_app  # noqa: PLC0415

    sandbox = WavepaySandbox(keys, scheduler, balance=50_000)
    # The test's own URLs carry the plugin secret in the query (as Paykassma's do);
    # httpx logs them, so the test client's log lines are kept out of the check.
    with (
        _unlogged_requests(),
        testclient.TestClient(build_app(sandbox), base_url="http://127.0.0.1:9") as client,
    ):
        yield client, sandbox


@pytest.mark.parametrize("amount", ODD_AMOUNTS, ids=repr)
def test_odd_amounts_over_http_get_422(
    http: tuple[Any, WavepaySandbox],
    scheduler: FakeScheduler,
    keys: SandboxKeys,
    kit: Any,
    amount: object,
) -> None:
    """Over HTTP, odd amounts get 422 with Paykassma's fail shape on every operation."""
    client, sandbox = http
    before = _state(sandbox, scheduler)
    activation = client.post(
        f"/api/v1/transaction/activate?secret={keys.pluginapi_secret}",
        content=json.dumps({**_activation("1000000001", 6000), "amount": amount}),
    )
    withdrawal_fields = _withdrawal_fields(kit.provider(), "09123456789", 1000)
    withdrawal = client.post(
        "/v2/withdrawal/create",
        content=json.dumps(_signed({**withdrawal_fields, "amount": amount}, kit.withdrawal_key)),
    )
    window = client.get(
        "/plugin/",
        params={
            "label": "55",
            "wallet_type": "wavepay",
            "currency_code": "MMK",
            "fixed_amount": str(amount),
        },
    )
    assert (activation.status_code, withdrawal.status_code) == (422, 422)
    assert activation.json()["status"] == withdrawal.json()["status"] == "fail"
    assert window.status_code == 400
    assert "fixed_amount" in window.text
    assert before == _state(sandbox, scheduler)


@pytest.mark.parametrize("member", ["fail", "pending", None, 1])
def test_withdrawal_member_named_status_does_not_replace_the_answers(
    sandbox: WavepaySandbox, kit: Any, member: object
) -> None:
    """A signed request member "status" is not echoed over the answer's own "ok"."""
    fields = _signed(
        {**_withdrawal_fields(kit.provider(), "09123456789", 1000), "status": member},
        kit.withdrawal_key,
    )
    answer = sandbox.create_withdrawal(fields)
    assert answer["status"] == "ok"
    assert answer["withdrawal_id"] == fields["withdrawal_id"]


def test_body_that_is_not_an_object_gets_400(http: tuple[Any, WavepaySandbox]) -> None:
    """A body that is not a JSON object is answered 400 in Paykassma's fail shape."""
    client, _ = http
    for body in (b"", b"not json", b"[1]", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000):
        answer = client.post("/v2/withdrawal/create", content=body)
        assert (answer.status_code, answer.json()["status"]) == (400, "fail")


_ENDPOINTS: dict[str, tuple[str, dict[str, object]]] = {
    "wallet_details": ("/api/v1/transaction/create/wavepay", {"currency": "MMK", "label": "55"}),
    "activation": (
        "/api/v1/transaction/activate",
        {
            "currency_code": "MMK",
            "wallet_type": "wavepay",
            "label": "55",
            "key1": "1000000001",
            "amount": 6000,
            "custom_transaction_id": "ref-1",
        },
    ),
    "withdrawal": (
        "/v2/withdrawal/create",
        {
            "withdrawal_id": "w-1",
            "payment_system": "wavepay",
            "amount": 1000,
            "currency_code": "MMK",
            "is_test": False,
            "label": "55",
            "account_email": "user@example.com",
            "account_number": "09123456789",
        },
    ),
}


@contextmanager
def _unlogged_requests() -> Iterator[None]:
    """Keep the test client's request log lines (URLs with generated text) out of the logs.

    The suite-wide check fails a test whose log records show any secret configured so
    far; generated text in a logged URL could equal a secret another test generated.
    """
    logger = logging.getLogger("httpx")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


_odd_text = st.one_of(
    st.text(max_size=40),
    # Lone surrogates (Cs), digits of every script (Nd), separators (Z*), controls (Cc).
    st.text(alphabet=st.characters(categories=["Cs", "Nd", "Zs", "Zl", "Cc"]), max_size=12),
    st.sampled_from(["", " ", "\u0000", "\ud800", "a" * 300, "\uff16\uff10\uff10\uff10"]),
)
_odd_json_text = st.one_of(
    _odd_text.map(json.dumps),  # ASCII escapes keep lone surrogates
    st.integers().map(str),
    st.sampled_from(
        [
            "1" * 5000,  # past Python's integer conversion limit
            "-" + "9" * 30,
            "1e999",
            "-1e999",
            "NaN",
            "Infinity",
            "1e-999",
            "0.1",
            "true",
            "null",
            "[]",
            "{}",
            "[" * 40 + "]" * 40,
            '{"a":' * 40 + "1" + "}" * 40,
            "[" * 5000 + "]" * 5000,
        ]
    ),
    st.floats().map(json.dumps),
)


@settings(deadline=None)  # the first example imports Starlette's test client
@given(
    endpoint=st.sampled_from(sorted(_ENDPOINTS)),
    odd=st.dictionaries(
        st.sampled_from(
            [
                "amount",
                "label",
                "key1",
                "currency",
                "currency_code",
                "wallet_type",
                "custom_transaction_id",
                "account_number",
                "account_email",
                "withdrawal_id",
                "payment_system",
                "is_test",
                "comment",
                "extra",
                "status",
                "message",
            ]
        ),
        _odd_json_text,
        min_size=1,
        max_size=4,
    ),
)
def test_any_request_is_answered_and_a_refusal_changes_nothing(
    kit: Any, endpoint: str, odd: dict[str, str]
) -> None:
    """Odd values in any field of any endpoint: never a 5xx; a refusal leaves no trace.

    Withdrawals are signed correctly whenever the values can be signed, so the odd
    values reach the field checks and the balance, not only the signature check.
    """
    testclient = pytest.importorskip("starlette.testclient")
    from payplane_paykassma_wavepay._sandbox_app import build_app  # noqa: PLC0415

    scheduler = FakeScheduler()
    keys = SandboxKeys(
        pluginapi_secret=kit.pluginapi_secret,
        withdrawal_private_key=kit.withdrawal_key,
        postback_access_key=kit.access_key,
        postback_private_key=kit.private_key,
    )
    sandbox = WavepaySandbox(keys, scheduler, balance=50_000)
    path, valid = _ENDPOINTS[endpoint]
    members = {name: json.dumps(value) for name, value in valid.items()}
    members.update(odd)
    if endpoint == "withdrawal":
        try:
            parsed = json.loads(
                "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members.items()) + "}"
            )
            signature = withdrawal_signature(parsed, kit.withdrawal_key)
        except (TypeError, ValueError, RecursionError):
            signature = "0" * 40
        members["signature"] = json.dumps(signature)
    body = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members.items()) + "}"
    before = _state(sandbox, scheduler)
    with (
        _unlogged_requests(),
        testclient.TestClient(build_app(sandbox), base_url="http://127.0.0.1:9") as client,
    ):
        answer = client.post(f"{path}?secret={kit.pluginapi_secret}", content=body.encode())
    assert answer.status_code in {200, 400, 422}, answer.text
    data = answer.json()
    if answer.status_code == 200:
        assert data["status"] in {"ok", "pending", "possible_transaction_created"}
        return
    assert data["status"] == "fail"
    assert isinstance(data["message"], str | dict)
    assert before == _state(sandbox, scheduler)


# -- scenario options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("balance", "-1"),
        ("balance", str(MAXIMUM_AMOUNT + 1)),
        ("balance", "1" * 5000),
        ("balance", "1_000"),
        ("balance", " 1000"),
        ("balance", "\uff11\uff10\uff10\uff10"),
        ("balance", "1e6"),
        ("balance", True),
        ("minimum_deposit", "0"),
        ("deposit_copies", "0"),
        ("deposit_copies", "11"),
        ("pending_delay", "nan"),
        ("pending_delay", "inf"),
        ("pending_delay", "61"),
        ("pending_delay", "1_0"),
        ("completion_delay", "-0.5"),
    ],
)
def test_bad_option_values_are_refused(name: str, value: object) -> None:
    """Options out of range or not written in ASCII digits are refused, naming the option."""
    with pytest.raises(payplane.exceptions.ConfigurationError, match=f"option {name}=") as caught:
        _options({name: value})
    assert caught.value.field == name


def test_option_values_are_parsed() -> None:
    """Text and numbers within range are parsed to the types the sandbox takes."""
    parsed = _options(
        {"balance": "0", "minimum_deposit": 7000, "pending_delay": "0.25", "deposit_copies": "3"}
    )
    assert parsed == {
        "balance": 0,
        "minimum_deposit": 7000,
        "pending_delay": 0.25,
        "deposit_copies": 3,
    }


def test_unknown_option_lists_the_known_ones() -> None:
    """An unknown option is refused with every known option named."""
    with pytest.raises(payplane.exceptions.ConfigurationError, match="known: balance, ") as caught:
        _options({"balanse": "1"})
    assert caught.value.field == "balanse"


@settings(deadline=None)  # the first example imports Starlette's test client
@given(
    odd=st.dictionaries(
        st.sampled_from(["label", "wallet_type", "currency_code", "lang", "fixed_amount"]),
        st.one_of(_odd_text, st.integers().map(str), st.floats().map(repr)),
        max_size=5,
    )
)
def test_payment_window_answers_any_query(kit: Any, odd: dict[str, str]) -> None:
    """Odd query parameters get the page or a 400 naming the problem, never a 5xx."""
    testclient = pytest.importorskip("starlette.testclient")
    from payplane_paykassma_wavepay._sandbox_app import build_app  # noqa: PLC0415

    keys = SandboxKeys(
        pluginapi_secret=kit.pluginapi_secret,
        withdrawal_private_key=kit.withdrawal_key,
        postback_access_key=kit.access_key,
        postback_private_key=kit.private_key,
    )
    params = {"label": "55", "wallet_type": "wavepay", "currency_code": "MMK", **odd}
    # Text that is not valid Unicode cannot travel in a URL: send what a browser would.
    query = {k: v.encode("utf-8", "replace").decode() for k, v in params.items()}
    with (
        _unlogged_requests(),
        testclient.TestClient(
            build_app(WavepaySandbox(keys, FakeScheduler())), base_url="http://127.0.0.1:9"
        ) as client,
    ):
        answer = client.get("/plugin/", params=query)
    assert answer.status_code in {200, 400}, answer.text
    if answer.status_code == 200:
        assert "Pay with Wavepay" in answer.text
