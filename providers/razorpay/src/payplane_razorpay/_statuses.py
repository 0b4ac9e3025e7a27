"""Razorpay's statuses mapped onto payplane's neutral ones (total: unknown is UNKNOWN).

Sources: Payment Link states https://razorpay.com/docs/payments/payment-links/states/,
payment states https://razorpay.com/docs/payments/payments/, order states
https://razorpay.com/docs/payments/orders/, refund statuses
https://razorpay.com/docs/api/refunds/create-normal, payout states
https://razorpay.com/docs/x/payouts/states-life-cycle/.
"""

from __future__ import annotations

from payplane import DepositStatus, RefundStatus, StatusMap, WithdrawalStatus

__all__ = [
    "ORDER_STATUSES",
    "PAYMENT_LINK_STATUSES",
    "PAYMENT_STATUSES",
    "PAYOUT_STATUSES",
    "REFUND_STATUSES",
]

PAYMENT_LINK_STATUSES = StatusMap(
    DepositStatus,
    {
        "created": DepositStatus.PENDING,  # "issued" on the Dashboard
        "partially_paid": DepositStatus.PENDING,
        "paid": DepositStatus.SUCCEEDED,
        "cancelled": DepositStatus.FAILED,
        "expired": DepositStatus.FAILED,
    },
)
"""A Payment Link's ``status``: paid is the deposit's success; cancelled and expired end it."""

PAYMENT_STATUSES = StatusMap(
    DepositStatus,
    {
        "created": DepositStatus.PENDING,
        "authorized": DepositStatus.PENDING,
        "captured": DepositStatus.SUCCEEDED,
        # Money arrived, then a refund (a REFUND of its own) returned it.
        "refunded": DepositStatus.SUCCEEDED,
        # Not final at Razorpay: a failed payment can still be authorised late, and a UPI
        # retry can capture the same payment; the customer can also pay the same Payment
        # Link again. The deposit ends when its link expires or is cancelled.
        "failed": DepositStatus.PENDING,
    },
)
"""A payment's ``status``. ``failed`` is an attempt that failed, not the deposit: PENDING."""

ORDER_STATUSES = StatusMap(
    DepositStatus,
    {
        "created": DepositStatus.PENDING,
        "attempted": DepositStatus.PENDING,
        "paid": DepositStatus.SUCCEEDED,
    },
)
"""An order's ``status`` (``order.paid`` webhooks)."""

REFUND_STATUSES = StatusMap(
    RefundStatus,
    {
        "pending": RefundStatus.PENDING,
        "processed": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
    },
)
"""A refund's ``status``."""

PAYOUT_STATUSES = StatusMap(
    WithdrawalStatus,
    {
        "pending": WithdrawalStatus.PENDING,  # awaiting approval (Approval Workflow)
        "queued": WithdrawalStatus.PENDING,  # low balance, or a bank is down
        "scheduled": WithdrawalStatus.PENDING,
        "processing": WithdrawalStatus.PENDING,  # IMPS/UPI may stay here up to T+3 days
        "processed": WithdrawalStatus.SUCCEEDED,  # can still become reversed
        "reversed": WithdrawalStatus.REVERSED,
        "failed": WithdrawalStatus.FAILED,
        "cancelled": WithdrawalStatus.FAILED,
        "rejected": WithdrawalStatus.FAILED,
    },
)
"""A RazorpayX payout's ``status``; ``processed`` may still turn ``reversed``."""
