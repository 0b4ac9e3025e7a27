"""Traced and measured: a deposit whose first attempt meets a 503, then a payout."""

from __future__ import annotations

import payplane
from payplane import DepositRequest, Money, WithdrawalRequest


def take_and_pay(client: payplane.Client) -> None:
    """Fetch the wallet to pay a deposit into, then pay a withdrawal out."""
    client.start_deposit(
        DepositRequest(
            customer_id="user-42", currency="MMK", reference="dep-1001", hosted_page=False
        )
    )
    client.create_withdrawal(
        WithdrawalRequest(
            customer_id="user-42",
            amount=Money("6000", "MMK"),
            account_number="09123456789",
            account_email="user42@example.com",
            reference="wd-2001",
        )
    )
