"""Lookups and refunds end to end, and the client's checks of what a provider declared.

Through Client and AsyncClient over FakePSP: lookups by reference and by id, unknown
payments, refunds with and without the deposit's amount, currencies per capability,
minor units, and providers whose objects lack a declared capability.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

import attrs
import httpx
import payplane_fakepsp
import pytest
from hypothesis import given

import payplane
from payplane import (
    Capability,
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
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    NotFoundError,
    UnknownOutcomeError,
    UnsupportedCapabilityError,
    ValidationError,
)
from payplane.hookspecs import hookimpl
from payplane.testing import money

FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")
Handler = Callable[[httpx.Request], httpx.Response]


def register(registry: payplane.Registry, **changes: Any) -> str:
    """Register a variant of FakePSP's spec (``id`` among *changes*); return its id."""
    spec = attrs.evolve(payplane_fakepsp.SPEC, **changes)

    class Plugin:
        @hookimpl
        def payplane_providers(self) -> list[payplane.ProviderSpec]:
            return [spec]

    registry.register(Plugin(), name=spec.id)
    return spec.id


def call(
    registry: payplane.Registry,
    settings: dict[str, object],
    handler: Handler,
    method: str,
    request: object,
    *,
    mode: Mode,
    provider: str = "fakepsp",
) -> Any:
    """Call ``client.<method>(request)`` on a sync or an async client over *handler*."""
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with registry.client(provider, settings, transport=transport, retry=FAST) as client:
            return getattr(client, method)(request)

    async def go() -> Any:
        async with registry.async_client(
            provider, settings, transport=transport, retry=FAST
        ) as client:
            return await getattr(client, method)(request)

    return asyncio.run(go())


class PSP:
    """FakePSP's server side: one deposit ``dep-1`` (10.00 USD, ``pay_1``), payouts, refunds."""

    def __init__(self, **answers: tuple[int, dict[str, Any]]) -> None:
        self.requests: list[httpx.Request] = []
        self.answers = answers

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = request.url.path.strip("/").replace("/", "_")
        if key in self.answers:
            status, body = self.answers[key]
            return httpx.Response(status, json=body)
        if key.startswith("lookup_"):
            return self._lookup(key.removeprefix("lookup_"), request.url.params)
        if key == "refunds":
            body = json.loads(request.content)
            if body["deposit"] not in {"dep-1", "pay_1"}:
                return httpx.Response(404, json={"error": "not_found"})
            return httpx.Response(200, json={"status": "pending", "refund": "rf_1"})
        return httpx.Response(200, json={"status": "queued"})

    @staticmethod
    def _lookup(kind: str, params: httpx.QueryParams) -> httpx.Response:
        known = {
            "deposit": {
                "id": "pay_1",
                "reference": "dep-1",
                "status": "paid",
                "amount": "10.00",
                "currency": "USD",
            },
            "withdrawal": {
                "id": "po_1",
                "reference": "wd-1",
                "status": "reversed",
                "amount": "25.50",
                "currency": "USD",
                "fee": "0.30",
            },
            "refund": {
                "id": "rf_1",
                "reference": "rf-ref-1",
                "status": "processed",
                "amount": "4.00",
                "currency": "USD",
            },
        }[kind]
        if params.get("reference") == known["reference"] or params.get("id") == known["id"]:
            return httpx.Response(200, json=known)
        return httpx.Response(404, json={"error": "not_found"})


# -- lookups ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "reference", "status"),
    [
        (PaymentKind.DEPOSIT, "dep-1", DepositStatus.SUCCEEDED),
        (PaymentKind.WITHDRAWAL, "wd-1", WithdrawalStatus.REVERSED),
        (PaymentKind.REFUND, "rf-ref-1", RefundStatus.SUCCEEDED),
    ],
)
def test_look_up_by_reference(
    registry: payplane.Registry,
    settings: dict[str, object],
    *,
    mode: Mode,
    kind: PaymentKind,
    reference: str,
    status: payplane.NeutralStatus,
) -> None:
    """Each kind is looked up by the platform's reference and mapped onto its own enum."""
    psp = PSP()
    request = LookupRequest(kind=kind, reference=reference)
    result = call(registry, settings, psp, "look_up", request, mode=mode)
    assert result.kind is kind
    assert result.reference == reference
    assert result.status.status is status
    assert result.provider == "fakepsp"
    (sent,) = psp.requests
    assert sent.method == "GET"
    assert sent.url.params["reference"] == reference


@pytest.mark.parametrize("mode", MODES)
def test_look_up_by_provider_id(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """The provider's own id finds the payment too; amount and fee are exact."""
    psp = PSP()
    request = LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference="po_1")
    result = call(registry, settings, psp, "look_up", request, mode=mode)
    assert result.provider_reference == "po_1"
    assert result.reference == "wd-1"
    assert result.amount == Money("25.50", "USD")
    assert result.fee == Money("0.30", "USD")
    assert psp.requests[0].url.params["id"] == "po_1"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "request_",
    [
        LookupRequest(kind=PaymentKind.DEPOSIT, reference="nope"),
        LookupRequest(kind=PaymentKind.REFUND, provider_reference="rf_404"),
    ],
    ids=["by-reference", "by-id"],
)
def test_look_up_of_an_unknown_payment_is_not_found(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    request_: LookupRequest,
) -> None:
    """An unknown reference or id is a NotFoundError naming the kind and what was looked up."""
    with pytest.raises(NotFoundError) as info:
        call(registry, settings, PSP(), "look_up", request_, mode=mode)
    assert info.value.kind == request_.kind.value
    assert info.value.reference == (request_.reference or request_.provider_reference)
    assert info.value.provider == "fakepsp"
    assert info.value.operation == "look_up"


@pytest.mark.parametrize("mode", MODES)
def test_look_up_is_retried_as_a_read(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A lookup is replay-safe: a 503 or a lost answer is retried."""
    answers: list[httpx.Response | type[Exception]] = [
        httpx.Response(503),
        httpx.ReadTimeout,
    ]
    psp = PSP()

    def handler(request: httpx.Request) -> httpx.Response:
        if answers:
            answer = answers.pop(0)
            if isinstance(answer, httpx.Response):
                return answer
            raise httpx.ReadTimeout("lost", request=request)
        return psp(request)

    request = LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep-1")
    result = call(registry, settings, handler, "look_up", request, mode=mode)
    assert result.status.status is DepositStatus.SUCCEEDED


@pytest.mark.parametrize("mode", MODES)
def test_unknown_outcome_resolved_by_lookup(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """The documented recipe: an unknown outcome's reference, looked up, says what happened."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/withdrawals":
            return httpx.Response(500, text="<html>internal error</html>")
        return PSP()(request)

    withdrawal = WithdrawalRequest(
        customer_id="u1", amount=Money("25.50", "USD"), account_number="0123", reference="wd-1"
    )
    with pytest.raises(UnknownOutcomeError) as info:
        call(registry, settings, handler, "create_withdrawal", withdrawal, mode=mode)
    lookup = LookupRequest(kind=PaymentKind.WITHDRAWAL, reference=info.value.reference)
    result = call(registry, settings, handler, "look_up", lookup, mode=mode)
    assert result.reference == withdrawal.reference
    assert result.status.status is WithdrawalStatus.REVERSED


def test_look_up_needs_the_capability(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A provider without lookups (Paykassma declares none) says so, naming the capability."""
    provider = register(
        registry,
        id="nolookups",
        capabilities=set(Capability) - {Capability.LOOKUPS},
    )
    request = LookupRequest(kind=PaymentKind.DEPOSIT, reference="dep-1")
    with pytest.raises(UnsupportedCapabilityError) as info:
        call(registry, settings, PSP(), "look_up", request, mode="sync", provider=provider)
    assert info.value.capability == "lookups"


# -- refunds ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_refund_with_the_deposit_amount_is_one_exchange(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """Knowing the deposit's amount, the refund goes at once, its reference as the key."""
    psp = PSP()
    request = RefundRequest(
        deposit_reference="dep-1",
        amount=Money("4.00", "USD"),
        deposit_amount=Money("10.00", "USD"),
        reference="rf-1",
    )
    result = call(registry, settings, psp, "create_refund", request, mode=mode)
    assert result.status.status is RefundStatus.PENDING
    assert result.reference == "rf-1"
    assert result.provider_reference == "rf_1"
    assert result.amount == Money("4.00", "USD")
    (sent,) = psp.requests
    assert json.loads(sent.content) == {"id": "rf-1", "deposit": "dep-1", "amount": "4.00"}


@pytest.mark.parametrize("mode", MODES)
def test_full_refund_without_the_amount_looks_the_deposit_up(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """No amount and no deposit amount: the flow looks the deposit up and refunds all of it."""
    psp = PSP()
    request = RefundRequest(deposit_provider_reference="pay_1")
    result = call(registry, settings, psp, "create_refund", request, mode=mode)
    assert [r.url.path for r in psp.requests] == ["/lookup/deposit", "/refunds"]
    assert result.amount == Money("10.00", "USD")
    assert json.loads(psp.requests[1].content)["amount"] == "10.00"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("amount", "limit"),
    [(Money("10.01", "USD"), "<= 10.00 USD"), (Money("4", "MMK"), "currency USD")],
    ids=["more-than-the-deposit", "another-currency"],
)
def test_refund_checked_against_the_looked_up_deposit(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    amount: Money,
    limit: str,
) -> None:
    """Without deposit_amount the flow finds the deposit and refuses, naming amount; no refund."""
    psp = PSP()
    request = RefundRequest(deposit_reference="dep-1", amount=amount)
    with pytest.raises(ValidationError) as info:
        call(registry, settings, psp, "create_refund", request, mode=mode)
    assert info.value.field == "amount"
    assert info.value.limit == limit
    assert info.value.provider == "fakepsp"
    assert info.value.operation == "create_refund"
    assert [r.url.path for r in psp.requests] == ["/lookup/deposit"]


@pytest.mark.parametrize(
    ("amount", "limit"),
    [(Money("10.01", "USD"), "<= 10.00 USD"), (Money("4", "MMK"), "currency USD")],
    ids=["more-than-the-deposit", "another-currency"],
)
def test_refund_checked_against_the_given_deposit_amount(amount: Money, limit: str) -> None:
    """With deposit_amount, the request itself refuses, naming amount: nothing to send."""
    with pytest.raises(ValidationError) as info:
        RefundRequest(deposit_reference="dep-1", amount=amount, deposit_amount=Money("10", "USD"))
    assert info.value.field == "amount"
    assert info.value.limit == limit.replace("10.00", "10")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "request_",
    [
        RefundRequest(deposit_reference="dep-404"),
        RefundRequest(deposit_reference="dep-404", deposit_amount=Money(5, "USD")),
    ],
    ids=["at-the-lookup", "at-the-refund"],
)
def test_refund_of_an_unknown_deposit_is_not_found(
    registry: payplane.Registry,
    settings: dict[str, object],
    mode: Mode,
    request_: RefundRequest,
) -> None:
    """An unknown deposit is a NotFoundError naming it, whichever step finds out."""
    with pytest.raises(NotFoundError) as info:
        call(registry, settings, PSP(), "create_refund", request_, mode=mode)
    assert info.value.kind == "deposit"
    assert info.value.reference == "dep-404"
    assert not isinstance(info.value, UnknownOutcomeError)


@pytest.mark.parametrize("mode", MODES)
def test_unclassifiable_refund_answer_is_unknown(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """A refund answer FakePSP cannot classify: unknown outcome with the refund's reference."""
    psp = PSP(refunds=(200, {"status": "weird"}))
    request = RefundRequest(deposit_reference="dep-1", reference="rf-9")
    with pytest.raises(UnknownOutcomeError) as info:
        call(registry, settings, psp, "create_refund", request, mode=mode)
    assert info.value.reference == "rf-9"
    assert isinstance(info.value.__cause__, MalformedPayloadError)


# -- currencies per capability, minor units --------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        (
            "create_withdrawal",
            WithdrawalRequest(customer_id="u", amount=Money(5, "MMK"), account_number="01"),
            "amount.currency",
        ),
        (
            "create_refund",
            RefundRequest(deposit_reference="dep-1", amount=Money(5, "MMK")),
            "amount.currency",
        ),
        (
            "create_refund",
            RefundRequest(deposit_reference="dep-1", deposit_amount=Money(5, "MMK")),
            "deposit_amount.currency",
        ),
    ],
    ids=["withdrawal", "refund-amount", "refund-deposit-amount"],
)
def test_currency_not_declared_for_the_capability_is_refused(
    registry: payplane.Registry,
    settings: dict[str, object],
    *,
    mode: Mode,
    method: str,
    request_: object,
    field: str,
) -> None:
    """A currency the provider moves, but not for this capability: refused before sending."""
    provider = register(
        registry,
        id="usd_only_out",
        capability_currencies={
            Capability.WITHDRAWALS: {"USD"},
            Capability.REFUNDS: {"USD", "JPY"},
        },
    )
    psp = PSP()
    with pytest.raises(ValidationError) as info:
        call(registry, settings, psp, method, request_, mode=mode, provider=provider)
    capability = "withdrawals" if method == "create_withdrawal" else "refunds"
    codes = "USD" if capability == "withdrawals" else "JPY, USD"
    assert info.value.field == field
    assert info.value.limit == f"{codes} for {capability}"
    assert info.value.provider == "usd_only_out"
    assert not psp.requests


@pytest.mark.parametrize("mode", MODES)
def test_currency_limit_of_one_capability_leaves_others_alone(
    registry: payplane.Registry, settings: dict[str, object], mode: Mode
) -> None:
    """MMK payouts are refused, MMK deposits still start."""
    provider = register(
        registry, id="usd_only_out", capability_currencies={Capability.WITHDRAWALS: {"USD"}}
    )
    psp = PSP(deposits=(200, {"account": "ACC-1"}))
    start = call(
        registry,
        settings,
        psp,
        "start_deposit",
        DepositRequest(customer_id="u", currency="MMK"),
        mode=mode,
        provider=provider,
    )
    assert start.currency == "MMK"


def test_deposit_currency_not_declared_names_the_currency_field(
    registry: payplane.Registry, settings: dict[str, object]
) -> None:
    """A deposit names its currency field (a code, not an amount)."""
    provider = register(
        registry, id="jpy_deposits", capability_currencies={Capability.DEPOSITS: {"JPY"}}
    )
    with pytest.raises(ValidationError) as info:
        call(
            registry,
            settings,
            PSP(),
            "start_deposit",
            DepositRequest(customer_id="u", currency="USD"),
            mode="sync",
            provider=provider,
        )
    assert info.value.field == "currency"
    assert info.value.limit == "JPY for deposits"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        (
            "create_withdrawal",
            WithdrawalRequest(customer_id="u", amount=Money("1.001", "USD"), account_number="0"),
            "amount",
        ),
        (
            "activate_deposit",
            payplane.ActivationRequest(
                customer_id="u", amount=Money("0.5", "JPY"), transaction_id="T1"
            ),
            "amount",
        ),
        (
            "create_refund",
            RefundRequest(deposit_reference="d", deposit_amount=Money("2.0001", "KWD")),
            "deposit_amount",
        ),
    ],
    ids=["withdrawal-usd", "activation-jpy", "refund-kwd"],
)
def test_minor_units_provider_refuses_extra_places(
    registry: payplane.Registry,
    settings: dict[str, object],
    *,
    mode: Mode,
    method: str,
    request_: object,
    field: str,
) -> None:
    """A minor-unit provider refuses an amount finer than the currency, naming the field."""
    provider = register(registry, id="cents", minor_units=True)
    psp = PSP()
    with pytest.raises(ValidationError) as info:
        call(registry, settings, psp, method, request_, mode=mode, provider=provider)
    money_ = getattr(request_, field)
    exponent = {"USD": 2, "JPY": 0, "KWD": 3}[money_.currency]
    assert info.value.field == field
    assert info.value.limit == f"{exponent} decimal places ({money_.currency})"
    assert not psp.requests


@given(amount=money(["USD", "JPY", "KWD"], max_digits=6, excess_places=2))
def test_minor_units_refusal_is_exactly_the_extra_places(amount: Money) -> None:
    """Every amount that fits its exponent is sent exactly; every other is refused, unsent."""
    registry = payplane.Registry(autoload=False)
    registry.register(payplane_fakepsp, name="fakepsp")
    provider = register(registry, id="cents", minor_units=True)
    settings: dict[str, object] = {
        "base_url": "https://fakepsp.test",
        "api_key": payplane_fakepsp.TEST_API_KEY,
        "webhook_secret": payplane_fakepsp.TEST_WEBHOOK_SECRET,
    }
    psp = PSP()
    request = WithdrawalRequest(customer_id="u", amount=amount, account_number="0")
    exponent = {"USD": 2, "JPY": 0, "KWD": 3}[amount.currency]
    fits = amount.amount == amount.amount.quantize(Decimal(1).scaleb(-exponent))
    if fits:
        call(registry, settings, psp, "create_withdrawal", request, mode="sync", provider=provider)
        assert Decimal(json.loads(psp.requests[0].content)["amount"]) == amount.amount
    else:
        with pytest.raises(ValidationError) as info:
            call(
                registry,
                settings,
                psp,
                "create_withdrawal",
                request,
                mode="sync",
                provider=provider,
            )
        assert info.value.field == "amount"
        assert not psp.requests


# -- a provider object that lacks what it declares ---------------------------------------


class DepositsOnly:
    """A provider object with deposits alone."""

    def __init__(self, settings: object) -> None:
        self.settings = settings

    def start_deposit(self, request: DepositRequest) -> payplane.Flow[payplane.DepositStart]:
        yield from ()
        return payplane.DepositStart(
            provider="liar", customer_id=request.customer_id, currency=request.currency
        )


@pytest.mark.parametrize("capability", [Capability.LOOKUPS, Capability.REFUNDS])
def test_declared_capability_without_its_protocol_is_a_configuration_error(
    registry: payplane.Registry, settings: dict[str, object], capability: Capability
) -> None:
    """Declaring lookups or refunds without the method: ConfigurationError, not AttributeError."""
    provider = register(
        registry, id="liar", capabilities={Capability.DEPOSITS, capability}, factory=DepositsOnly
    )
    with pytest.raises(ConfigurationError) as info:
        registry.client(provider, settings)
    assert f"declares {capability.value}" in info.value.message
    assert capability.protocol.__name__ in info.value.message
    assert info.value.provider == "liar"


@pytest.mark.parametrize("client_class", ["Client", "AsyncClient"])
def test_client_built_directly_refuses_a_provider_missing_a_protocol(
    registry: payplane.Registry, settings: dict[str, object], client_class: str
) -> None:
    """Building a client by hand checks the object too, before any call could AttributeError."""
    spec = attrs.evolve(
        payplane_fakepsp.SPEC, id="liar", capabilities={Capability.DEPOSITS, Capability.REFUNDS}
    )
    settings_obj = spec.make_settings(settings)
    with pytest.raises(ConfigurationError, match="does not implement RefundProvider"):
        getattr(payplane, client_class)(spec, settings_obj, DepositsOnly(settings_obj))
