"""payplane's contract suite, run against AcmePay (install it first: pip install -e .)."""

from __future__ import annotations

import json

from payplane import HttpResponse, RefundRequest, RefundResult, RefundStatus
from payplane.testing import Harness, ProviderContract


def answer(payload: object) -> HttpResponse:
    return HttpResponse(status_code=200, content=json.dumps(payload).encode())


class TestContract(ProviderContract):
    """Every rule of the suite, for what AcmePay declares, and one test of AcmePay's own."""

    provider_id = "acmepay"

    def test_full_refund_returns_what_is_left(self, payplane_harness: Harness) -> None:
        """A full refund looks the payment up and returns what is left of it."""
        payment = {
            "id": "pay_1",
            "status": "succeeded",
            "amount": 2550,
            "amount_refunded": 500,
            "currency": "USD",
        }
        refund = {"id": "re_1", "status": "pending", "amount": 2050, "currency": "USD"}
        outcome = payplane_harness.run(
            RefundRequest(deposit_provider_reference="pay_1"), [answer(payment), answer(refund)]
        )
        assert isinstance(outcome.result, RefundResult)
        assert outcome.result.status.status is RefundStatus.PENDING
        assert json.loads(outcome.requests[1].content)["amount"] == 2050
