"""Samples for payplane's contract suite (:mod:`payplane.testing`): made-up keys.

Loaded only by the suite, through the ``payplane_contract_samples`` hook. The bodies
follow Paykassma's documented shapes (tests/data holds the originals); they are signed
here with the sample keys, PHP-style, as Paykassma signs them.
"""

from __future__ import annotations

import json
from typing import Any

from payplane import (
    ActivationOutcome,
    ActivationRequest,
    DepositRequest,
    HttpResponse,
    Money,
    PostbackKind,
    WithdrawalRequest,
    WithdrawalStatus,
)
from payplane.exceptions import InsufficientFundsError, ProviderDeclinedError
from payplane.testing import ContractSamples, RecordedAnswer, SignedPostback, StatusProbe
from payplane_paykassma_wavepay._postbacks import WITHDRAWAL_STATUSES
from payplane_paykassma_wavepay._signing import CURRENT_SIGNED_MEMBER, postback_signature

__all__ = ["SETTINGS", "contract_samples", "signed_postback"]

SETTINGS = {
    "api_host": "https://api.example.com",
    "pluginapi_secret": "contract-pluginapi-secret",
    "withdrawal_private_key": "contract-withdrawal-key",
    "postback_access_key": "contract-access-key",
    "postback_private_key": "contract-postback-key",
    "plugin_host": "https://plugin.example.com",
}
"""Made-up settings; every key is long enough for the suite's leak checks."""

_ACCESS = SETTINGS["postback_access_key"]
_PRIVATE = SETTINGS["postback_private_key"]


def _php(value: object) -> str:
    """Serialise as PHP's json_encode(JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _item(**fields: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    item: dict[str, Any] = {
        "activated_datetime": "",
        "exchanger_identifier": None,
        "comment": "",
        "amount": "0",
        "currency_code": "MMK",
        "wallet_type": "wavepay",
        "stockpiling_id": None,
        "transaction_id": "",
        "transaction_type": None,
        "plugin_custom_order_id": None,
        "withdrawal_id": None,
        "withdrawal_status": None,
        "account_number": "",
        "account_name": "",
        "account_email": "",
        "bank_details": {"bank_code": "", "branch_code": ""},
    }
    item.update(fields)
    return item


def signed_postback(
    *, direction: str, amount: int, label: str, items: list[dict[str, Any]]
) -> tuple[bytes, tuple[int, int]]:
    """Return a signed current-format postback body and the byte span its signature covers."""
    signed = _php(items)
    body: dict[str, Any] = {
        "signature": postback_signature(_ACCESS, _PRIVATE, signed),
        "wallet_type": "wavepay",
        "amount": amount,
        "currency_code": "MMK",
        "label": label,
        "direction": direction,
        "created_datetime": "2023-08-01 13:37:42",
        "access_key": _ACCESS,
        CURRENT_SIGNED_MEMBER: items,
    }
    raw = _php(body).encode()
    start = raw.index(f'"{CURRENT_SIGNED_MEMBER}":'.encode()) + len(CURRENT_SIGNED_MEMBER) + 3
    return raw, (start, start + len(signed.encode()))


def _withdrawal_postback(status: object) -> SignedPostback:
    item = _item(amount="20000", withdrawal_id="10319", withdrawal_status=status)
    item["account_number"] = "56432467654"
    body, span = signed_postback(direction="outgoing", amount=20000, label="53999", items=[item])
    code = "" if status is None else str(status).strip()
    return SignedPostback(
        body=body,
        event_key=f"outgoing:10319:{code}",
        kind=PostbackKind.WITHDRAWAL,
        amount=Money(20000, "MMK"),
        signed_span=span,
        name=f"withdrawal postback (status {status!r})",
    )


def _deposit_postback() -> SignedPostback:
    items = [
        _item(
            activated_datetime="2023-08-01 16:37:16",
            amount="100",
            stockpiling_id=963,
            transaction_id="CD0C06E08D",
            transaction_type=1,
        ),
        _item(
            activated_datetime="2023-08-01 16:37:40",
            amount="6000",
            stockpiling_id=963,
            transaction_id="5750E9FBB3",
            transaction_type=1,
        ),
    ]
    body, span = signed_postback(
        direction="ingoing", amount=6100, label="7848747947846", items=items
    )
    return SignedPostback(
        body=body,
        event_key="ingoing:5750E9FBB3,CD0C06E08D",
        kind=PostbackKind.DEPOSIT,
        amount=Money(6100, "MMK"),
        signed_span=span,
        name="deposit postback",
    )


def _answer(payload: object, status_code: int = 200) -> HttpResponse:
    return HttpResponse(
        status_code=status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(payload).encode(),
    )


_DEPOSIT = DepositRequest(
    customer_id="7848747947846",
    currency="MMK",
    amount=Money(6000, "MMK"),
    reference="order-1001",
)
_ACTIVATION = ActivationRequest(
    customer_id="55",
    amount=Money(6000, "MMK"),
    transaction_id="1394646476",
    reference="123465477897",
)
_WITHDRAWAL = WithdrawalRequest(
    customer_id="c81594cc-e4b1-4ed5-914c-3817f2ccf13a",
    amount=Money(6000, "MMK"),
    account_number="01642234663",
    account_email="payee@example.com",
    reference="af84c26f-931d-4c28-a30d-7b75e46b7685",
    test=True,
)
_MMK = {"code": "MMK", "symbol": "MMK"}


def _activation_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=_ACTIVATION,
        response=_answer({"status": status, "message": "probe"}),
        name=f"activation answer (status {status!r})",
    )


def _withdrawal_answer(status: object) -> RecordedAnswer:
    return RecordedAnswer(
        request=_WITHDRAWAL,
        response=_answer({"status": status, "withdrawal_id": _WITHDRAWAL.reference}),
        name=f"withdrawal answer (status {status!r})",
    )


def contract_samples() -> ContractSamples:
    """Return the samples ``paykassma_wavepay`` is checked with."""
    echo = {
        "withdrawal_id": _WITHDRAWAL.reference,
        "payment_system": "wavepay",
        "amount": 6000,
        "currency_code": "MMK",
        "is_test": True,
        "label": _WITHDRAWAL.customer_id,
        "account_email": _WITHDRAWAL.account_email,
        "account_number": _WITHDRAWAL.account_number,
    }
    return ContractSamples(
        settings=SETTINGS,
        postbacks=[_deposit_postback(), _withdrawal_postback(1), _withdrawal_postback(5)],
        answers=[
            RecordedAnswer(
                request=_DEPOSIT,
                response=_answer({"status": "ok", "params": {"identifier": "324342342"}}),
                name="wallet details",
            ),
            RecordedAnswer(
                request=_DEPOSIT,
                response=_answer({"status": "fail", "message": "MESSAGE"}),
                expected=ProviderDeclinedError,
                name="wallet details refused",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer(
                    {"status": "ok", "deposit": True, "deposit_amount": 6000, "currency": _MMK}
                ),
                expected=ActivationOutcome.CREDITED,
                name="activation credited",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer(
                    {
                        "status": "ok",
                        "deposit": False,
                        "transactions_sum": 1000,
                        "stockpiling_sum": 1000,
                        "lacks_sum": 5000,
                        "minimum_deposit": 6000,
                        "currency": _MMK,
                    }
                ),
                expected=ActivationOutcome.BELOW_MINIMUM,
                name="activation below the minimum",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer({"status": "pending", "message": "check started"}),
                expected=ActivationOutcome.PENDING,
                name="activation pending",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer(
                    {"status": "possible_transaction_created", "message": "Transaction not found"}
                ),
                expected=ActivationOutcome.UNDER_REVIEW,
                name="activation under review",
            ),
            RecordedAnswer(
                request=_ACTIVATION,
                response=_answer({"status": "fail", "message": "MESSAGE"}),
                expected=ActivationOutcome.REJECTED,
                name="activation rejected",
            ),
            RecordedAnswer(
                request=_WITHDRAWAL,
                response=_answer(echo),
                expected=WithdrawalStatus.PENDING,
                name="withdrawal accepted",
            ),
            RecordedAnswer(
                request=_WITHDRAWAL,
                response=_answer(
                    {
                        "status": "fail",
                        "message": {"withdrawals_sum_amount": ["Insufficient balance"]},
                    }
                ),
                expected=InsufficientFundsError,
                name="withdrawal over the balance",
            ),
            RecordedAnswer(
                request=_WITHDRAWAL,
                response=_answer({"status": "fail", "message": "MESSAGE"}),
                expected=ProviderDeclinedError,
                name="withdrawal refused",
            ),
        ],
        status_probes=[
            StatusProbe(
                name="withdrawal_status of a withdrawal postback",
                known=frozenset(WITHDRAWAL_STATUSES.table),
                carrier=_withdrawal_postback,
            ),
            StatusProbe(
                name="status of an activation answer",
                known=frozenset({"ok", "pending", "possible_transaction_created", "fail"}),
                carrier=_activation_answer,
            ),
            StatusProbe(
                name="status of a withdrawal answer",
                known=frozenset({"ok", "fail"}),
                carrier=_withdrawal_answer,
            ),
        ],
    )
