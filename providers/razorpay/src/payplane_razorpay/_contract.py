"""Samples for payplane's contract suite (:mod:`payplane.testing`): made-up keys.

Loaded only by the suite, through the ``payplane_contract_samples`` hook. Bodies follow
Razorpay's documented entities; webhooks are signed here with the sample webhook secret,
as Razorpay signs them (HMAC-SHA256 of the raw body, in ``X-Razorpay-Signature``).

:data:`FLOW_EXCHANGES` holds every operation as a whole flow (each step's recorded
answer: contact, fund account and payout; payment, then refund); :func:`contract_samples`
hands each to the kit as a :class:`~payplane.testing.RecordedAnswer` with one answer per
step, status probes that reach the provider through webhooks and through answers, and a
payout to a UPI id as a request template beside the bank-account (IFSC) one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import attrs

from payplane import (
    Beneficiary,
    DepositRequest,
    DepositStatus,
    HttpResponse,
    LookupRequest,
    Money,
    NeutralStatus,
    PaymentKind,
    PostbackKind,
    RefundRequest,
    RefundStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import (
    InsufficientFundsError,
    NotFoundError,
    PayplaneError,
    ProviderDeclinedError,
)
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe
from payplane_razorpay._signing import webhook_signature
from payplane_razorpay._statuses import (
    PAYMENT_LINK_STATUSES,
    PAYOUT_STATUSES,
    REFUND_STATUSES,
)

__all__ = [
    "DEPOSIT",
    "FLOW_EXCHANGES",
    "LINK_LOOKUP",
    "PAYOUT_LOOKUP",
    "REFUND",
    "SETTINGS",
    "WITHDRAWAL",
    "WITHDRAWAL_TO_VPA",
    "FlowExchange",
    "answer",
    "contract_samples",
    "error_answer",
    "link_entity",
    "payment_entity",
    "payout_entity",
    "refund_entity",
    "signed_webhook",
]

SETTINGS = {
    "key_id": "rzp_test_Contract0000001",
    "key_secret": "contract-key-secret-1",
    "webhook_secret": "contract-webhook-secret-1",
    "payout_account_number": "7878780080316316",
}
"""Made-up settings; every secret is long enough for the suite's leak checks."""

_CREATED = 1735689000


def answer(payload: object, status_code: int = 200) -> HttpResponse:
    """An answer of Razorpay's: JSON *payload* with *status_code*."""
    return HttpResponse(
        status_code=status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(payload).encode(),
    )


def error_answer(
    description: str,
    *,
    status_code: int = 400,
    field: str | None = None,
    reason: str | None = "input_validation_failed",
) -> HttpResponse:
    """A Razorpay refusal: ``{"error": {"code": "BAD_REQUEST_ERROR", ...}}``."""
    error: dict[str, object] = {
        "code": "BAD_REQUEST_ERROR",
        "description": description,
        "source": "business",
        "step": "payment_initiation",
        "reason": reason,
        "metadata": {},
    }
    if field is not None:
        error["field"] = field
    return answer({"error": error}, status_code)


def link_entity(**fields: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A Payment Link entity (the create answer), with *fields* replaced."""
    entity: dict[str, Any] = {
        "id": "plink_TestLink000001",
        "accept_partial": False,
        "amount": 50000,
        "amount_paid": 0,
        "callback_method": "get",
        "callback_url": "https://merchant.example/return",
        "cancelled_at": 0,
        "created_at": _CREATED,
        "currency": "INR",
        "customer": {"name": "Gaurav Kumar", "email": "gaurav.kumar@example.com"},
        "description": "Deposit dep_0001",
        "expire_by": 0,
        "expired_at": 0,
        "first_min_partial_amount": 0,
        "notes": {"payplane_reference": "dep_0001", "payplane_customer_id": "cust-1"},
        "notify": {"email": False, "sms": False},
        "payments": None,
        "reference_id": "dep_0001",
        "reminder_enable": False,
        "reminders": [],
        "short_url": "https://rzp.io/i/AbCdEfG",
        "status": "created",
        "updated_at": _CREATED,
        "upi_link": False,
        "user_id": "",
    }
    entity.update(fields)
    return entity


def payment_entity(**fields: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A captured payment entity, with *fields* replaced."""
    entity: dict[str, Any] = {
        "id": "pay_TestPay0000001",
        "entity": "payment",
        "amount": 50000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_TestOrd000001",
        "invoice_id": None,
        "international": False,
        "method": "upi",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": True,
        "description": "Deposit",
        "vpa": "gaurav.kumar@exampleupi",
        "email": "gaurav.kumar@example.com",
        "contact": "+919000090000",
        "notes": {"payplane_reference": "dep_0001", "payplane_customer_id": "cust-1"},
        "fee": 1180,
        "tax": 180,
        "error_code": None,
        "error_description": None,
        "created_at": 1735689600,
    }
    entity.update(fields)
    return entity


def refund_entity(**fields: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A refund entity, with *fields* replaced."""
    entity: dict[str, Any] = {
        "id": "rfnd_TestRfnd000001",
        "entity": "refund",
        "amount": 25000,
        "currency": "INR",
        "payment_id": "pay_TestPay0000001",
        "notes": {"payplane_reference": "refund-0001-abcdef"},
        "receipt": None,
        "acquirer_data": {"arn": None},
        "created_at": 1735776000,
        "batch_id": None,
        "status": "processed",
        "speed_processed": "normal",
        "speed_requested": "normal",
    }
    entity.update(fields)
    return entity


def payout_entity(**fields: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A payout entity, with *fields* replaced."""
    entity: dict[str, Any] = {
        "id": "pout_TestPout000001",
        "entity": "payout",
        "fund_account_id": "fa_TestFund000001",
        "amount": 100000,
        "currency": "INR",
        "notes": {"payplane_reference": "wd_0001", "payplane_customer_id": "cust-1"},
        "fees": 590,
        "tax": 90,
        "status": "processing",
        "utr": None,
        "mode": "IMPS",
        "purpose": "payout",
        "reference_id": "wd_0001",
        "narration": "Acme Withdrawal",
        "batch_id": None,
        "status_details": None,
        "created_at": 1735689700,
        "fee_type": "",
    }
    entity.update(fields)
    return entity


def signed_webhook(
    event: str,
    payload: dict[str, Any],
    *,
    secret: str = SETTINGS["webhook_secret"],
    created_at: int = 1735689605,
    event_id: str = "evt_TestEvent000001",
) -> tuple[bytes, dict[str, str]]:
    """Return a webhook body (compact JSON) and its headers, signed with *secret*."""
    document = {
        "entity": "event",
        "account_id": "acc_TestAcct000001",
        "event": event,
        "contains": list(payload),
        "payload": {name: {"entity": entity} for name, entity in payload.items()},
        "created_at": created_at,
    }
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "x-razorpay-signature": webhook_signature(body, secret),
        "x-razorpay-event-id": event_id,
    }
    return body, headers


def _postback(
    event: str, payload: dict[str, Any], key: str, kind: PostbackKind, amount: Money | None
) -> SignedPostback:
    body, headers = signed_webhook(event, payload)
    return SignedPostback(
        body=body,
        event_key=key,
        kind=kind,
        headers=headers,
        amount=amount,
        signed_headers={"x-razorpay-signature"},
        name=f"{event} webhook",
    )


def _payout_postback(status: object) -> SignedPostback:
    code = str(status)
    return _postback(
        "payout.processed",
        {"payout": payout_entity(status=status)},
        f"payout.processed:pout_TestPout000001:{code}",
        PostbackKind.WITHDRAWAL,
        Money("1000.00", "INR"),
    )


def _link_postback(status: object) -> SignedPostback:
    return _postback(
        "payment_link.paid",
        {"payment_link": link_entity(status=status, amount_paid=50000)},
        # One key per deposit and neutral status, whichever event reports it.
        f"deposit:plink_TestLink000001:{PAYMENT_LINK_STATUSES.map(status).status.value}",
        PostbackKind.DEPOSIT,
        None,
    )


def _refund_postback(status: object) -> SignedPostback:
    return _postback(
        "refund.processed",
        {"refund": refund_entity(status=status), "payment": payment_entity()},
        f"refund.processed:rfnd_TestRfnd000001:{status}",
        PostbackKind.REFUND,
        Money("250.00", "INR"),
    )


DEPOSIT = DepositRequest(
    customer_id="cust-1",
    currency="INR",
    amount=Money("500.00", "INR"),
    reference="dep_0001",
    customer_email="gaurav.kumar@example.com",
    success_url="https://merchant.example/return",
)
"""A deposit request the samples answer."""

WITHDRAWAL = WithdrawalRequest(
    customer_id="cust-1",
    amount=Money("1000.00", "INR"),
    reference="wd_0001",
    beneficiary=Beneficiary(
        holder_name="Gaurav Kumar", account_number="765432123456789", bank_code="HDFC0000053"
    ),
    comment="Acme Withdrawal",
)
"""A withdrawal to a bank account (IFSC) the samples answer."""

WITHDRAWAL_TO_VPA = WithdrawalRequest(
    customer_id="cust-2",
    amount=Money("250.00", "INR"),
    reference="wd_0002",
    beneficiary=Beneficiary(holder_name="Priya Sharma", vpa="priya.sharma@exampleupi"),
)
"""A withdrawal to a UPI id (VPA)."""

LINK_LOOKUP = LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="plink_TestLink000001")
"""A deposit looked up by its Payment Link."""

PAYOUT_LOOKUP = LookupRequest(kind=PaymentKind.WITHDRAWAL, provider_reference="pout_TestPout000001")
"""A payout looked up by its id."""

REFUND = RefundRequest(
    deposit_provider_reference="pay_TestPay0000001",
    amount=Money("250.00", "INR"),
    reference="refund-0001-abcdef",
)
"""A partial refund of the sample payment."""

_CONTACT = answer({"id": "cont_TestCont000001", "entity": "contact", "name": "Gaurav Kumar"}, 201)
_FUND_ACCOUNT = answer(
    {"id": "fa_TestFund000001", "entity": "fund_account", "contact_id": "cont_TestCont000001"},
    201,
)
_VPA_FUND_ACCOUNT = answer(
    {"id": "fa_TestFund000002", "entity": "fund_account", "contact_id": "cont_TestCont000001"},
    201,
)


@attrs.frozen(kw_only=True)
class FlowExchange:
    """A request, every answer its flow gets (in order), and what the flow must give.

    Attributes:
        request: A neutral request (deposit, withdrawal, lookup or refund).
        responses: One answer per request the flow yields.
        expected: The neutral status of the result, the exception class raised, or
            ``None`` for "returns without error".
        name: A label.
    """

    request: DepositRequest | WithdrawalRequest | LookupRequest | RefundRequest
    responses: Sequence[HttpResponse]
    expected: NeutralStatus | type[PayplaneError] | None = None
    name: str = "exchange"


FLOW_EXCHANGES: tuple[FlowExchange, ...] = (
    FlowExchange(request=DEPOSIT, responses=[answer(link_entity())], name="payment link created"),
    FlowExchange(
        request=DEPOSIT,
        responses=[error_answer("The amount must be at least INR 1.00", field="amount")],
        expected=ProviderDeclinedError,
        name="payment link refused",
    ),
    FlowExchange(
        request=WITHDRAWAL,
        responses=[_CONTACT, _FUND_ACCOUNT, answer(payout_entity())],
        expected=WithdrawalStatus.PENDING,
        name="payout processing",
    ),
    FlowExchange(
        request=WITHDRAWAL_TO_VPA,
        responses=[
            _CONTACT,
            _VPA_FUND_ACCOUNT,
            answer(
                payout_entity(
                    id="pout_TestPout000002",
                    fund_account_id="fa_TestFund000002",
                    amount=25000,
                    mode="UPI",
                    reference_id="wd_0002",
                    notes={"payplane_reference": "wd_0002", "payplane_customer_id": "cust-2"},
                    status="processed",
                    utr="415236789012",
                )
            ),
        ],
        expected=WithdrawalStatus.SUCCEEDED,
        name="payout to a UPI id processed",
    ),
    FlowExchange(
        request=WITHDRAWAL,
        responses=[
            _CONTACT,
            _FUND_ACCOUNT,
            error_answer(
                "Your account does not have enough balance to carry out the payout operation.",
                reason="insufficient_funds",
            ),
        ],
        expected=InsufficientFundsError,
        name="payout over the balance",
    ),
    FlowExchange(
        request=LINK_LOOKUP,
        responses=[answer(link_entity(status="paid", amount_paid=50000))],
        expected=DepositStatus.SUCCEEDED,
        name="paid link looked up",
    ),
    FlowExchange(
        request=PAYOUT_LOOKUP,
        responses=[answer(payout_entity(status="reversed"))],
        expected=WithdrawalStatus.REVERSED,
        name="reversed payout looked up",
    ),
    FlowExchange(
        request=LookupRequest(kind=PaymentKind.REFUND, provider_reference="rfnd_TestRfnd000001"),
        responses=[answer(refund_entity())],
        expected=RefundStatus.SUCCEEDED,
        name="processed refund looked up",
    ),
    FlowExchange(
        request=LookupRequest(
            kind=PaymentKind.WITHDRAWAL, provider_reference="pout_Unknown0000001"
        ),
        responses=[error_answer("The id provided does not exist")],
        expected=NotFoundError,
        name="unknown payout looked up",
    ),
    FlowExchange(
        request=REFUND,
        responses=[answer(payment_entity()), answer(refund_entity())],
        expected=RefundStatus.SUCCEEDED,
        name="partial refund processed",
    ),
    FlowExchange(
        request=RefundRequest(
            deposit_provider_reference="pay_TestPay0000001", reference="refund-0002-abcdef"
        ),
        responses=[
            answer(payment_entity()),
            answer(
                refund_entity(
                    id="rfnd_TestRfnd000002",
                    amount=50000,
                    status="pending",
                    notes={"payplane_reference": "refund-0002-abcdef"},
                )
            ),
        ],
        expected=RefundStatus.PENDING,
        name="full refund pending",
    ),
)
"""Whole-flow samples: every operation, with each of its steps' answers."""


_DISPUTE = {
    "id": "disp_TestDisp000001",
    "entity": "dispute",
    "payment_id": "pay_TestPay0000001",
    "amount": 50000,
    "currency": "INR",
    "amount_deducted": 0,
    "reason_code": "chargeback",
    "respond_by": 1736294400,
    "status": "open",
    "phase": "chargeback",
    "created_at": 1735689605,
}


def _probe(
    name: str,
    known: Iterable[Hashable],
    carrier: Callable[[Any], SignedPostback | RecordedAnswer],
) -> StatusProbe:
    return StatusProbe(name=name, known=frozenset(known), carrier=carrier)


def _recorded(exchange: FlowExchange) -> RecordedAnswer:
    return RecordedAnswer(
        request=exchange.request,
        responses=exchange.responses,
        expected=exchange.expected,
        name=exchange.name,
    )


def _payout_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=WITHDRAWAL,
        responses=[_CONTACT, _FUND_ACCOUNT, answer(payout_entity(status=status))],
        name=f"payout answered {status!r}",
    )


def _refund_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=REFUND,
        responses=[answer(payment_entity()), answer(refund_entity(status=status))],
        name=f"refund answered {status!r}",
    )


def _link_lookup_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=LINK_LOOKUP,
        responses=[answer(link_entity(status=status))],
        name=f"payment link looked up {status!r}",
    )


def _payout_lookup_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=PAYOUT_LOOKUP,
        responses=[answer(payout_entity(status=status))],
        name=f"payout looked up {status!r}",
    )


def contract_samples() -> ContractSamples:
    """Return the samples ``razorpay`` is checked with: every flow, step by step."""
    return ContractSamples(
        settings=SETTINGS,
        postbacks=[
            _payout_postback("processed"),
            _link_postback("paid"),
            _refund_postback("processed"),
            _postback(
                "payment.captured",
                {"payment": payment_entity()},
                "deposit:order_TestOrd000001:succeeded",
                PostbackKind.DEPOSIT,
                Money("500.00", "INR"),
            ),
            _postback(
                "payout.reversed",
                {"payout": payout_entity(status="reversed")},
                "payout.reversed:pout_TestPout000001:reversed",
                PostbackKind.WITHDRAWAL,
                Money("1000.00", "INR"),
            ),
            _postback(
                "payment.dispute.created",
                {"payment": payment_entity(), "dispute": _DISPUTE},
                "payment.dispute.created:pay_TestPay0000001:captured:1735689605",
                PostbackKind.OTHER,
                None,
            ),
        ],
        answers=[_recorded(exchange) for exchange in FLOW_EXCHANGES],
        status_probes=[
            _probe("status of a payout webhook", PAYOUT_STATUSES.table, _payout_postback),
            _probe("status of a payment link webhook", PAYMENT_LINK_STATUSES.table, _link_postback),
            _probe("status of a refund webhook", REFUND_STATUSES.table, _refund_postback),
            _probe("status of a payout answer", PAYOUT_STATUSES.table, _payout_answer),
            _probe("status of a refund answer", REFUND_STATUSES.table, _refund_answer),
            _probe(
                "status of a payment link looked up",
                PAYMENT_LINK_STATUSES.table,
                _link_lookup_answer,
            ),
            _probe("status of a payout looked up", PAYOUT_STATUSES.table, _payout_lookup_answer),
        ],
        request_templates=[WITHDRAWAL_TO_VPA],
    )
