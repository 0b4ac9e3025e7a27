"""Samples for payplane's contract suite: made-up keys, AcmePay's documented shapes."""

from __future__ import annotations

import json
from typing import Any

import attrs

from payplane import (
    DepositRequest,
    DepositStatus,
    HttpResponse,
    LookupRequest,
    Money,
    PaymentKind,
    PostbackKind,
    RefundRequest,
    RefundStatus,
)
from payplane.exceptions import NotFoundError, ProviderDeclinedError
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe
from payplane_acmepay._provider import PAYMENT_STATUSES, REFUND_STATUSES, SIGNATURE_HEADER, sign

__all__ = ["SETTINGS", "contract_samples", "postback"]

SETTINGS = {
    "api_key": "acme-test-api-key-0001",
    "webhook_secret": "acme-test-webhook-secret-0001",
}
PAYMENT = {
    "id": "pay_1001",
    "reference": "order-1001",
    "status": "succeeded",
    "amount": 2550,
    "currency": "USD",
    "amount_refunded": 500,
    "customer": "user-42",
}
"""A payment of 25.50 USD (2550 cents), 5.00 of it refunded already."""


def postback(event_type: str, data: dict[str, Any] | None = None) -> SignedPostback:
    """Return an AcmePay event of *event_type* about *data*, signed with the sample secret."""
    event: dict[str, Any] = {"id": f"evt_{event_type}", "type": event_type}
    if data is not None:
        event["data"] = data
    body = json.dumps(event, separators=(",", ":")).encode()
    kind = PostbackKind.OTHER
    amount = None
    if data is not None:
        kind = PostbackKind.DEPOSIT if event_type.startswith("payment.") else PostbackKind.REFUND
        amount = Money.from_minor_units(data["amount"], data["currency"])
    return SignedPostback(
        body=body,
        headers={SIGNATURE_HEADER: sign(body, SETTINGS["webhook_secret"])},
        event_key=f"evt_{event_type}",
        kind=kind,
        amount=amount,
        signed_headers={SIGNATURE_HEADER},
        name=f"{event_type} event",
    )


def _payment_postback(status: object) -> SignedPostback:
    return postback("payment.updated", PAYMENT | {"status": status})


def _answer(payload: object, status_code: int = 200) -> HttpResponse:
    return HttpResponse(status_code=status_code, content=json.dumps(payload).encode())


def _refund(status: object, amount: int = 2050) -> dict[str, Any]:
    return {
        "id": "re_2001",
        "payment": "pay_1001",
        "reference": "refund-1",
        "status": status,
        "amount": amount,
        "currency": "USD",
    }


_FULL_REFUND = RefundRequest(deposit_reference="order-1001", reference="refund-1")


def _refund_answer(status: object) -> RecordedAnswer:
    """The full refund of order-1001: a lookup by reference, then the refund."""
    return RecordedAnswer(
        request=_FULL_REFUND,
        responses=[_answer({"data": [PAYMENT]}), _answer(_refund(status))],
        name=f"full refund after a lookup ({status!r})",
    )


def _lookup_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=LookupRequest(kind=PaymentKind.DEPOSIT, provider_reference="pay_1001"),
        response=_answer(PAYMENT | {"status": status}),
        name=f"payment lookup ({status!r})",
    )


def contract_samples() -> ContractSamples:
    """Return the samples ``acmepay`` is checked with."""
    deposit = DepositRequest(
        customer_id="user-42", currency="USD", amount=Money("25.50", "USD"), reference="order-1"
    )
    created = {
        "id": "pay_1001",
        "status": "pending",
        "checkout_url": "https://checkout.acmepay.example/pay_1001",
        "pay_to": {"method": "bank_transfer", "account": "ACME-000-1234"},
    }
    refused = {"error": {"code": "amount_too_small", "message": "The amount is too small"}}
    return ContractSamples(
        settings=SETTINGS,
        postbacks=[
            postback("payment.succeeded", PAYMENT | {"amount": 1500, "currency": "JPY"}),
            postback(
                "payment.failed", PAYMENT | {"status": "failed", "amount": 12345, "currency": "KWD"}
            ),
            postback("refund.succeeded", _refund("succeeded", 1000)),
            postback("dispute.created"),
        ],
        answers=[
            RecordedAnswer(request=deposit, response=_answer(created, 201), name="payment created"),
            RecordedAnswer(
                request=deposit,
                response=_answer(refused, 422),
                expected=ProviderDeclinedError,
                name="payment refused",
            ),
            attrs.evolve(_lookup_answer("succeeded"), expected=DepositStatus.SUCCEEDED),
            RecordedAnswer(
                request=LookupRequest(kind=PaymentKind.DEPOSIT, reference="order-404"),
                response=_answer({"data": []}),
                expected=NotFoundError,
                name="no payment with that reference",
            ),
            RecordedAnswer(
                request=LookupRequest(kind=PaymentKind.REFUND, provider_reference="re_404"),
                response=_answer({"error": {"message": "No such refund"}}, 404),
                expected=NotFoundError,
                name="no such refund",
            ),
            RecordedAnswer(
                request=RefundRequest(
                    deposit_provider_reference="pay_1001",
                    amount=Money("10.00", "USD"),
                    deposit_amount=Money("25.50", "USD"),
                    reference="refund-1",
                ),
                response=_answer(_refund("pending", 1000)),
                expected=RefundStatus.PENDING,
                name="partial refund, amounts known",
            ),
            attrs.evolve(_refund_answer("succeeded"), expected=RefundStatus.SUCCEEDED),
        ],
        status_probes=[
            StatusProbe(
                name="payment event status", known=PAYMENT_STATUSES.table, carrier=_payment_postback
            ),
            StatusProbe(
                name="payment lookup status", known=PAYMENT_STATUSES.table, carrier=_lookup_answer
            ),
            StatusProbe(
                name="refund answer status", known=REFUND_STATUSES.table, carrier=_refund_answer
            ),
        ],
        request_templates=[DepositRequest(customer_id="user-42", currency="EUR")],
    )
