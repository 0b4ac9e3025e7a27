"""Deferred mode's parts: the retry schedule, and what a worker reports."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import attrs

from payplane.exceptions import ConfigurationError

__all__ = ["Backoff", "WorkSummary"]


def _seconds(field: str, *, zero: bool) -> Callable[[Any, Any, Any], None]:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
            or (value == 0 and not zero)
        ):
            kind = "non-negative" if zero else "positive"
            msg = f"{field} must be a {kind}, finite number of seconds, not {value!r}"
            raise ConfigurationError(msg, field=field)

    return check


@attrs.frozen(kw_only=True)
class Backoff:
    """When a deferred event whose handler failed is tried again: exponential, jittered.

    After the *n*-th failed attempt the next one waits
    ``min(maximum, initial * 2 ** (n - 1) + uniform(0, jitter))`` seconds, the schedule
    of stamina (and of most retry libraries): doubling delays, capped, with random
    jitter so that events that failed together (a dependency down) are not all tried
    again at the same instant.

    With the defaults (and ``Inbox(max_attempts=16)``) an event is tried for about five
    hours before it is dead.

    Attributes:
        initial: Seconds before the second attempt (positive).
        maximum: The longest wait between two attempts, in seconds (at least *initial*).
        jitter: The most seconds of random delay added (0 for none).

    Raises:
        ConfigurationError: a value is not a number of seconds, or *maximum* is below
            *initial*; ``field`` names it.
    """

    initial: float = attrs.field(default=1.0, validator=_seconds("initial", zero=False))
    maximum: float = attrs.field(default=3600.0, validator=_seconds("maximum", zero=False))
    jitter: float = attrs.field(default=1.0, validator=_seconds("jitter", zero=True))

    def __attrs_post_init__(self) -> None:
        if self.maximum < self.initial:
            msg = f"maximum ({self.maximum:g} s) must be at least initial ({self.initial:g} s)"
            raise ConfigurationError(msg, field="maximum")

    def delay(self, failures: int) -> float:
        """Seconds to wait after the *failures*-th failed attempt (1 for the first)."""
        exponent = min(max(failures, 1) - 1, 64)  # far past any cap, never an overflow
        jitter = random.uniform(0, self.jitter)  # noqa: S311 - spreading, not secrecy
        return min(self.maximum, self.initial * 2.0**exponent + jitter)


@attrs.frozen(kw_only=True)
class WorkSummary:
    """What one call of :meth:`Inbox.work <payplane.Inbox.work>` did.

    Attributes:
        applied: Events whose handler completed (now applied).
        failed: Attempts whose handler raised, the event to be tried again later.
        dead: Events whose last allowed attempt failed (now dead).
        ignored: Events found to be no payment, settled as ignored without the handler.
    """

    applied: int = 0
    failed: int = 0
    dead: int = 0
    ignored: int = 0

    @property
    def attempts(self) -> int:
        """Every attempt made, ``applied + failed + dead``."""
        return self.applied + self.failed + self.dead
