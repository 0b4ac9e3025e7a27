"""Broken on purpose: declares WITHDRAWALS, whose flow method raises NotImplementedError.

Everything else is right, so the contract suite fails for that reason alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

import attrs

import payplane
from payplane import Capability, DepositStatus, PostbackKind, StatusMap
from payplane.exceptions import MalformedPayloadError, SignatureError, ValidationError
from payplane.hookspecs import hookimpl
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe

PROVIDER_ID = "broken_capability"
STATUSES = StatusMap(DepositStatus, {"paid": DepositStatus.SUCCEEDED})


@attrs.frozen(kw_only=True)
class Settings:
    """Settings."""

    key: payplane.Secret = payplane.secret_field()


def _sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


class Provider:
    """Deposits and postbacks work; withdrawals are stubs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start_deposit(
        self, request: payplane.DepositRequest
    ) -> payplane.Flow[payplane.DepositStart]:
        """One exchange."""
        if request.amount is not None:
            raise ValidationError("amount", "fixed amounts are not offered", limit="none")
        response = yield payplane.HttpRequest.json(
            operation="start_deposit",
            method="POST",
            url="https://broken.example/deposits",
            payload={"customer": request.customer_id},
        )
        if response.status_code != 200:  # noqa: PLR2004
            raise MalformedPayloadError("no answer")
        return payplane.DepositStart(
            provider=PROVIDER_ID, customer_id=request.customer_id, currency=request.currency
        )

    def create_withdrawal(
        self, request: payplane.WithdrawalRequest
    ) -> payplane.Flow[payplane.WithdrawalResult]:
        """Not written yet."""
        raise NotImplementedError

    def verify_postback(self, body: bytes, headers: Mapping[str, str]) -> payplane.PostbackEvent:
        """Verify."""
        if not hmac.compare_digest(
            headers.get("x-signature", "").encode(),
            _sign(body, self.settings.key.reveal()).encode(),
        ):
            raise SignatureError("bad signature")
        try:
            data = json.loads(body)
            return payplane.PostbackEvent(
                provider=PROVIDER_ID,
                kind=PostbackKind.DEPOSIT,
                event_key=str(data["id"]),
                status=STATUSES.map(data["status"]),
                amount=payplane.Money(data["amount"], "USD"),
            )
        except (ValueError, KeyError, TypeError, payplane.exceptions.PayplaneError) as exc:
            raise MalformedPayloadError(str(exc)) from exc

    def postback_answer(self, *, accepted: bool) -> payplane.PostbackAnswer:
        """Answer."""
        return payplane.PostbackAnswer(status_code=200 if accepted else 503)


@hookimpl
def payplane_providers() -> list[payplane.ProviderSpec]:
    """Declare it."""
    return [
        payplane.ProviderSpec(
            id=PROVIDER_ID,
            display_name="Broken (capability)",
            capabilities={Capability.DEPOSITS, Capability.WITHDRAWALS, Capability.POSTBACKS},
            currencies={"USD"},
            api_version=payplane.PLUGIN_API_VERSION,
            settings=Settings,
            factory=Provider,
        )
    ]


def _postback(status: object) -> SignedPostback:
    body = json.dumps({"id": f"evt-{status}", "status": status, "amount": "10.00"}).encode()
    return SignedPostback(
        body=body,
        headers={"x-signature": _sign(body, "broken-capability-key")},
        event_key=f"evt-{status}",
        kind=PostbackKind.DEPOSIT,
        signed_headers={"x-signature"},
    )


@hookimpl
def payplane_contract_samples(provider: str) -> ContractSamples | None:
    """Complete samples, but for withdrawals."""
    if provider != PROVIDER_ID:
        return None
    deposit = payplane.DepositRequest(customer_id="user-1", currency="USD")
    return ContractSamples(
        settings={"key": "broken-capability-key"},
        postbacks=[_postback("paid")],
        answers=[
            RecordedAnswer(
                request=deposit, response=payplane.HttpResponse(status_code=200, content=b"{}")
            )
        ],
        status_probes=[StatusProbe(name="postback status", known={"paid"}, carrier=_postback)],
    )
