"""The public API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import warnings
from datetime import timedelta
from decimal import Decimal

import httpx

import payplane
from payplane import (
    ActivationOutcome,
    ActivationRequest,
    Beneficiary,
    DepositRequest,
    DepositStatus,
    Flow,
    HttpRequest,
    LookupProvider,
    LookupRequest,
    LookupResult,
    Money,
    OtherEvent,
    PaymentKind,
    PostbackEvent,
    PostbackKind,
    RefundRequest,
    RefundResult,
    RefundStatus,
    StatusMap,
    WithdrawalRequest,
    WithdrawalResult,
    WithdrawalStatus,
)
from payplane.exceptions import (
    ClientClosedError,
    InsufficientFundsError,
    NotFoundError,
    RedactedCause,
    UnknownOutcomeError,
)
from payplane.hookspecs import hookimpl


def sync_usage(settings: dict[str, str]) -> None:
    with payplane.client("paykassma_wavepay", settings) as client:
        start = client.start_deposit(DepositRequest(customer_id="u1", currency="MMK"))
        url: str | None = start.hosted_page_url
        result = client.activate_deposit(
            ActivationRequest(customer_id="u1", amount=Money("6000", "MMK"), transaction_id="123")
        )
        if result.outcome.status is ActivationOutcome.BELOW_MINIMUM and result.missing is not None:
            missing: Decimal = result.missing.amount
            del missing
        request = WithdrawalRequest(
            customer_id="u1",
            amount=Money(6000, "MMK"),
            account_number="01642234663",
            account_email="user@example.com",
        )
        try:
            payout = client.create_withdrawal(request)
        except UnknownOutcomeError as exc:
            reference: str | None = exc.reference
            if isinstance(exc.__cause__, RedactedCause):
                timed_out = issubclass(exc.__cause__.original_type, httpx.TimeoutException)
                del timed_out
            del reference
        except InsufficientFundsError:
            pass
        except ClientClosedError:
            closed: bool = client.is_closed
            del closed
        else:
            pending: bool = payout.status.status is WithdrawalStatus.PENDING
            del pending
        del url


async def async_usage(settings: dict[str, str]) -> None:
    async with payplane.async_client(
        "paykassma_wavepay", settings, transport=httpx.MockTransport(lambda _r: httpx.Response(200))
    ) as client:
        start = await client.start_deposit(DepositRequest(customer_id="u1", currency="MMK"))
        event = client.verify_postback(b"{}", {})
        if isinstance(event, PostbackEvent):  # a verified event may be about no payment
            total: Money = event.amount + Money(1, "MMK")
            del total
        del start


def inbox_usage(settings: dict[str, str], dsn: str) -> None:
    def credit(event: payplane.PostbackEvent, transaction: payplane.InboxTransaction) -> None:
        transaction.connection.execute("SELECT 1")

    def hand_off(provider: str, account: str, event_key: str) -> None:
        del provider, account, event_key

    inbox = payplane.Inbox(
        payplane.PostgresStore(dsn),
        credit,
        accounts={"paykassma_wavepay": {"shop-a": settings, "shop-b": settings}},
        mode="deferred",
        on_recorded=hand_off,
        max_attempts=10,
        backoff=payplane.Backoff(initial=2.0, maximum=600.0),
    )
    answer = inbox.receive("paykassma_wavepay", b"{}", {}, account="shop-a")
    status: int = answer.status_code
    summary: payplane.WorkSummary = inbox.work(until_idle=True, lease=60.0)
    state: payplane.RecordState = inbox.apply("paykassma_wavepay", "key", account="shop-a")
    dispatched: int = inbox.sweep()
    page = inbox.records(state=payplane.RecordState.DEAD, account="shop-a", limit=50)
    if page:
        older = inbox.records(after=page[-1].id)
        del older
    for record in inbox.iter_records():
        account: str = record.account
        headers = dict(record.headers)
        del account, headers
    requeued: int = inbox.requeue_dead(provider="paykassma_wavepay")
    pruned: payplane.PruneResult = inbox.prune(applied_older_than=timedelta(days=90))
    del status, summary, state, dispatched, requeued, pruned


def lookups_and_refunds(client: payplane.Client, payout: WithdrawalRequest) -> None:
    try:
        client.create_withdrawal(payout)
    except UnknownOutcomeError as exc:
        try:
            found: LookupResult = client.look_up(
                LookupRequest(kind=PaymentKind.WITHDRAWAL, reference=exc.reference)
            )
        except NotFoundError as missing:
            kind: str = missing.kind
            del kind
        else:
            reversed_: bool = found.status.status is WithdrawalStatus.REVERSED
            amount: Money | None = found.amount
            del reversed_, amount
    refund = RefundRequest(
        deposit_provider_reference="pay_1001",
        amount=Money("10.00", "USD"),
        deposit_amount=Money("25.50", "USD"),
    )
    key: str = refund.reference  # store it before calling
    result: RefundResult = client.create_refund(refund)
    done: bool = result.status.status is RefundStatus.SUCCEEDED and result.status.status.is_final
    fee: Money | None = result.fee
    del key, done, fee


def beneficiary_payout(client: payplane.Client) -> WithdrawalResult:
    to = Beneficiary(holder_name="A. User", account_number="0123456789", bank_code="HDFC0001234")
    return client.create_withdrawal(
        WithdrawalRequest(
            customer_id="u1", amount=Money.from_minor_units(50000, "INR"), beneficiary=to
        )
    )


def otp_call(reference: str, otp: str) -> Flow[str]:
    """A provider-specific call, as a provider would expose it."""
    answer = yield HttpRequest(
        operation="finalise_payout",
        method="POST",
        url=f"https://api.example.com/payouts/{reference}/otp",
        content=otp.encode(),
        moves_money=True,
        reference=reference,
    )
    status: str = answer.json()["status"]
    return status


def provider_specific_calls(client: payplane.Client) -> None:
    status: str = client.run(otp_call("wd-1", "123456"))
    named: str = client.run(otp_call("wd-1", "123456"), operation="finalise_payout")
    del status, named


async def async_provider_specific_calls(client: payplane.AsyncClient) -> None:
    status: str = await client.run(otp_call("wd-1", "123456"))
    found: LookupResult = await client.look_up(
        LookupRequest(kind=PaymentKind.REFUND, provider_reference="re_1")
    )
    refund: RefundResult = await client.create_refund(RefundRequest(deposit_reference="order-1"))
    del status, found, refund


def webhook_kinds(client: payplane.Client, body: bytes, headers: dict[str, str]) -> None:
    event = client.verify_postback(body, headers)
    if isinstance(event, OtherEvent):
        ignored: str | None = event.event_type
        del ignored
    else:
        total: Money = event.amount
        refund_done = event.kind is PostbackKind.REFUND and event.status.status.is_success
        provider_id: str | None = event.provider_reference
        del total, refund_done, provider_id


class Lookups:
    """A provider's lookup capability, written against the protocol."""

    def look_up(self, request: LookupRequest) -> Flow[LookupResult]:
        answer = yield HttpRequest(
            operation="look_up",
            method="GET",
            url=f"https://api.example.com/payments/{request.provider_reference}",
            replay_safe=True,
        )
        return LookupResult(
            provider="example",
            kind=request.kind,
            reference=request.reference,
            provider_reference=request.provider_reference,
            status=DEPOSIT_STATUSES.map(answer.json()["status"]),
            amount=Money.from_minor_units(answer.json()["amount"], "USD"),
        )


DEPOSIT_STATUSES = StatusMap(DepositStatus, {"paid": DepositStatus.SUCCEEDED})
PROVIDER: LookupProvider = Lookups()


def plugin_api_versions() -> None:
    warnings.filterwarnings("ignore", category=payplane.PluginDeprecationWarning)
    supported: frozenset[int] = payplane.SUPPORTED_PLUGIN_API_VERSIONS
    current: int = payplane.PLUGIN_API_VERSION
    cents: int = Money("25.50", "USD").minor_units
    del supported, current, cents


def observability() -> None:
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    import payplane.contrib.opentelemetry  # noqa: PLC0415

    instrumentation: payplane.contrib.opentelemetry.Instrumentation = (
        payplane.contrib.opentelemetry.instrument(tracer_provider=TracerProvider())
    )
    on: bool = instrumentation.is_instrumented
    instrumentation.uninstrument()
    del on


def sqlalchemy_store(url: str, settings: dict[str, str]) -> None:
    import sqlalchemy  # noqa: PLC0415
    from sqlalchemy.orm import Session, sessionmaker  # noqa: PLC0415

    from payplane.contrib.sqlalchemy import SQLAlchemyStore, session  # noqa: PLC0415

    def credit(event: PostbackEvent, transaction: payplane.InboxTransaction) -> None:
        orm: Session = session(transaction)
        orm.execute(sqlalchemy.text("SELECT 1"))
        transaction.connection.execute(sqlalchemy.text("SELECT :key"), {"key": event.event_key})

    engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
    store: payplane.Store = SQLAlchemyStore(engine, session_factory=sessionmaker())
    inbox = payplane.Inbox(store, credit, providers={"paykassma_wavepay": settings})
    inbox.work(until_idle=True)
    engine.dispose()


class SlowCalls:
    """An observer of client calls, as users write one."""

    @hookimpl
    def payplane_operation_finished(self, provider: str, operation: str, elapsed: float) -> None:
        if elapsed > 2.0:
            print(provider, operation)  # noqa: T201


def mistakes_mypy_catches(client: payplane.Client, body: bytes) -> None:
    # Unused ignores are errors under --strict: each line below must stay a type error.
    client.run(HttpRequest(operation="x", method="GET", url="https://x"))  # type: ignore[arg-type]
    client.verify_postback(body).amount  # type: ignore[union-attr]  # noqa: B018
    client.look_up(RefundRequest(deposit_reference="d"))  # type: ignore[arg-type]
