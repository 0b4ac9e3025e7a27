"""Samples for payplane's contract suite: made-up keys, AcmePay's documented shapes."""

from __future__ import annotations

import json

from payplane import DepositRequest, HttpResponse, Money, PostbackKind
from payplane.exceptions import ProviderDeclinedError
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe
from payplane_acmepay._provider import SIGNATURE_HEADER, STATUSES, sign

__all__ = ["SETTINGS", "contract_samples", "postback"]

SETTINGS = {
    "api_key": "acme-test-api-key-0001",
    "webhook_secret": "acme-test-webhook-secret-0001",
}


def postback(status: object, amount: str = "1500", currency: str = "JPY") -> SignedPostback:
    """Return a payment postback with *status*, signed with the sample webhook secret."""
    body = json.dumps(
        {
            "id": "evt_1001",
            "type": "payment.updated",
            "payment": {
                "id": "pay_1001",
                "status": status,
                "amount": amount,
                "currency": currency,
                "customer": "user-42",
                "reference": "order-1001",
            },
        },
        separators=(",", ":"),
    ).encode()
    return SignedPostback(
        body=body,
        headers={SIGNATURE_HEADER: sign(body, SETTINGS["webhook_secret"])},
        event_key=f"pay_1001:{STATUSES.normalize(status)}",
        kind=PostbackKind.DEPOSIT,
        amount=Money(amount, currency),
        signed_headers={SIGNATURE_HEADER},
        name=f"payment {status!r} ({amount} {currency})",
    )


def contract_samples() -> ContractSamples:
    """Return the samples ``acmepay`` is checked with."""
    request = DepositRequest(
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
            postback("succeeded"),
            postback("failed", "12.345", "KWD"),
            postback("pending", "19.99", "USD"),
        ],
        answers=[
            RecordedAnswer(
                request=request,
                response=HttpResponse(status_code=201, content=json.dumps(created).encode()),
                name="payment created",
            ),
            RecordedAnswer(
                request=request,
                response=HttpResponse(status_code=422, content=json.dumps(refused).encode()),
                expected=ProviderDeclinedError,
                name="payment refused",
            ),
        ],
        status_probes=[
            StatusProbe(name="payment status", known=STATUSES.table.keys(), carrier=postback)
        ],
    )
