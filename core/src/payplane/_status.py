"""Neutral statuses, and the helper that maps provider codes onto them."""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "ActivationOutcome",
    "DepositStatus",
    "MappedStatus",
    "NeutralStatus",
    "RefundStatus",
    "StatusMap",
    "WithdrawalStatus",
]


class NeutralStatus(enum.Enum):
    """Base of payplane's status enums: each has a non-final ``UNKNOWN`` and knows its finals."""

    @property
    def is_final(self) -> bool:
        """Whether no later event can change this status."""
        return self.name in type(self)._finals()  # noqa: SLF001 - its own class

    @property
    def is_success(self) -> bool:
        """Whether this status means the money arrived (deposit) or went out (withdrawal)."""
        return self.name in type(self)._successes()  # noqa: SLF001 - its own class

    @classmethod
    def _finals(cls) -> frozenset[str]:
        return frozenset()

    @classmethod
    def _successes(cls) -> frozenset[str]:
        return frozenset()


class DepositStatus(NeutralStatus):
    """Where a deposit stands."""

    PENDING = "pending"
    """Started or being checked; not credited yet."""
    SUCCEEDED = "succeeded"
    """Credited to the merchant; final."""
    FAILED = "failed"
    """Rejected or expired; final."""
    UNKNOWN = "unknown"
    """A provider code payplane does not know: not final, never success."""

    @classmethod
    def _finals(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED", "FAILED"})

    @classmethod
    def _successes(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED"})


class WithdrawalStatus(NeutralStatus):
    """Where a withdrawal (payout) stands.

    ``SUCCEEDED`` is final for payplane's purposes, but some payout rails return money
    days after reporting it paid (RazorpayX documents payouts moving from ``processed`` to
    ``reversed`` up to three working days later): a provider that can report that maps it
    to ``REVERSED``, so keep listening for postbacks after a success.
    """

    PENDING = "pending"
    """Accepted by the provider and not finished: not final."""
    SUCCEEDED = "succeeded"
    """Paid out; final (but see ``REVERSED``)."""
    FAILED = "failed"
    """Rejected or failed, no money left; final."""
    REVERSED = "reversed"
    """Paid out, then returned by the beneficiary's bank (the amount, and with some
    providers the fees, credited back to the merchant); final, not a success."""
    UNKNOWN = "unknown"
    """A provider code payplane does not know: not final, never success."""

    @classmethod
    def _finals(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED", "FAILED", "REVERSED"})

    @classmethod
    def _successes(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED"})


class RefundStatus(NeutralStatus):
    """Where a refund of a deposit stands."""

    PENDING = "pending"
    """Accepted by the provider, not yet returned to the payer: not final."""
    SUCCEEDED = "succeeded"
    """Returned to the payer's account or card; final."""
    FAILED = "failed"
    """The provider or the payer's bank could not return it; final. Nothing was refunded."""
    UNKNOWN = "unknown"
    """A provider code payplane does not know: not final, never success."""

    @classmethod
    def _finals(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED", "FAILED"})

    @classmethod
    def _successes(cls) -> frozenset[str]:
        return frozenset({"SUCCEEDED"})


class ActivationOutcome(NeutralStatus):
    """What activating a deposit from the user's transaction id led to."""

    CREDITED = "credited"
    """The transaction was found and the deposit credited; final."""
    BELOW_MINIMUM = "below_minimum"
    """Found, but the sum accumulated for the user is below the minimum deposit; the
    provider keeps it and adds later transactions to it. Not final."""
    PENDING = "pending"
    """Verification started; the answer comes later by postback. Not final."""
    UNDER_REVIEW = "under_review"
    """Not found; a claim was filed for manual review. Not final."""
    REJECTED = "rejected"
    """The provider refused the activation; final."""
    UNKNOWN = "unknown"
    """An answer payplane does not know: not final, never success."""

    @classmethod
    def _finals(cls) -> frozenset[str]:
        return frozenset({"CREDITED", "REJECTED"})

    @classmethod
    def _successes(cls) -> frozenset[str]:
        return frozenset({"CREDITED"})


S = TypeVar("S", bound=NeutralStatus)


def _freeze(table: Mapping[Any, NeutralStatus]) -> Mapping[Hashable, Any]:
    return MappingProxyType(dict(table))


@attrs.frozen
class MappedStatus(Generic[S]):
    """A neutral status with the provider's raw value beside it.

    Attributes:
        status: The neutral status.
        raw: The provider's value exactly as received (``1``, ``"5"``, ``"pending"``,
            ``None``), for logs and support tickets.
    """

    status: S
    raw: object


@attrs.frozen
class StatusMap(Generic[S]):
    """A total mapping from a provider's status codes onto a neutral enum.

    Every value the table does not hold maps to the enum's ``UNKNOWN``, which is never
    final and never a success, so a code the provider adds later cannot pass for success.
    Keys are compared after ``normalize`` (by default: ``str(value).strip()``), so
    ``1`` and ``"1"`` are the same code.

    Attributes:
        enum: The neutral enum.
        table: Provider code to neutral status.
    """

    enum: type[S]
    table: Mapping[Hashable, S] = attrs.field(converter=_freeze)

    @staticmethod
    def normalize(value: object) -> str:
        """Return the key a raw value is looked up by."""
        return str(value).strip()

    def __attrs_post_init__(self) -> None:
        if "UNKNOWN" not in self.enum.__members__:
            msg = f"{self.enum.__name__} has no UNKNOWN member"
            raise TypeError(msg)
        normalized: dict[Hashable, S] = {
            self.normalize(key): value for key, value in self.table.items()
        }
        object.__setattr__(self, "table", MappingProxyType(normalized))

    def map(self, raw: object) -> MappedStatus[S]:
        """Map *raw* (kept as received) onto the neutral enum; unknown values to ``UNKNOWN``."""
        if raw is None or isinstance(raw, bool):
            return MappedStatus(self.enum["UNKNOWN"], raw)
        status = self.table.get(self.normalize(raw))
        return MappedStatus(self.enum["UNKNOWN"] if status is None else status, raw)
