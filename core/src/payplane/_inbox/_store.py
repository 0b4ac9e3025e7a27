"""Inbox stores: where postbacks are recorded durably and applied exactly once.

A store does three things atomically:

* ``record``: insert the verified event once per ``(provider, event_key)``, committed
  before the receiver may answer "ok";
* ``applying``: open a transaction holding the event's lock (waiting at most ``wait``
  seconds), so exactly one worker runs the handler, whose writes and the "applied" mark
  commit together or not at all. A failing handler's writes roll back to a savepoint
  and the failure is recorded in the same transaction, still under the lock;
* ``reject``: keep a refused delivery for audit, pruning the oldest beyond the store's
  bounds in the same transaction.

A connection that dies (a database restart, a failover, a connection closed under the
store) is replaced: an idempotent step (recording, reading, keeping a rejected delivery,
opening an apply transaction) is tried once more on a fresh connection; past that the
store raises :class:`StoreUnavailableError`, which the inbox answers with the provider's
"send again".
"""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import attrs

from payplane._inbox._codec import event_from_dict
from payplane._models import PostbackEvent
from payplane.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_REJECTED_LIMIT",
    "DEFAULT_REJECTED_MAX_AGE",
    "REJECTED_BODY_LIMIT",
    "SCHEMA_VERSION",
    "ApplyContext",
    "InboxBusyError",
    "InboxRecord",
    "InboxTransaction",
    "RecordState",
    "RejectedPostback",
    "Store",
    "StoreUnavailableError",
    "keepable",
    "storable_text",
]

SCHEMA_VERSION = 1
"""The version of the tables payplane creates; stored in ``payplane_schema``."""

DEFAULT_REJECTED_LIMIT = 10_000
"""How many refused deliveries a store keeps by default (the newest)."""

DEFAULT_REJECTED_MAX_AGE = timedelta(days=30)
"""How long a store keeps a refused delivery by default."""


class RecordState(enum.Enum):
    """Where a recorded postback stands."""

    RECEIVED = "received"
    """Recorded; the handler has not completed yet."""
    APPLIED = "applied"
    """The handler ran and committed; repeats are acknowledged without running it."""
    FAILED = "failed"
    """The handler raised; the next delivery or an explicit retry applies it."""


@attrs.frozen(kw_only=True)
class InboxRecord:
    """A postback as the inbox recorded it.

    Attributes:
        provider: Provider id.
        event_key: The provider's event key (the deduplication key).
        state: Where it stands.
        attempts: How many times the handler ran to its end or failed.
        replays: How many times an operator replayed it after it was applied.
        received_at: When it was first recorded (UTC).
        applied_at: When the handler's work committed (UTC), if it did.
        last_error: The last handler error, secrets scrubbed.
        body: The raw body as received, with secret values replaced by ``***``.
        event_data: The parsed event as JSON-safe data, secret values replaced by ``***``
            (in every free-text member: raw members, customer id, references).
    """

    provider: str
    event_key: str
    state: RecordState
    attempts: int
    replays: int
    received_at: datetime
    applied_at: datetime | None
    last_error: str | None
    body: bytes = attrs.field(repr=False)
    event_data: dict[str, Any] = attrs.field(repr=False)

    @property
    def event(self) -> PostbackEvent:
        """The recorded event, rebuilt (with secret values replaced by ``***``)."""
        return event_from_dict(self.event_data)


@attrs.frozen(kw_only=True)
class RejectedPostback:
    """A delivery refused before it became an event (bad signature, malformed body).

    Attributes:
        provider: The provider id in the URL.
        received_at: When it arrived (UTC).
        error: Why it was refused.
        body: The body (at most 64 KiB of it), secret values replaced by ``***``.
    """

    provider: str
    received_at: datetime
    error: str
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class InboxTransaction:
    """What a handler gets beside the event: the store's open transaction.

    Attributes:
        connection: The ``sqlite3.Connection`` or ``psycopg.Connection`` (from the
            store's pool) whose transaction will also mark the event applied; ``None``
            for the in-memory store. Write through it to make your work and the
            "applied" mark atomic, which is what makes delivery exactly once. Do not
            commit, roll back or close it.
    """

    connection: Any


class InboxBusyError(Exception):
    """Another worker holds the event's lock for longer than the receiver may wait."""


class StoreUnavailableError(ConnectionError):
    """The database cannot be reached, or the connection was lost mid-way.

    A :class:`ConnectionError`, which is how it reaches callers of the read side
    (:meth:`Inbox.get <payplane.Inbox.get>`, ``records``, ``rejected``, ``retry``,
    ``replay``); a delivery gets the provider's "send again" instead.

    Raised after the store's one retry on a fresh connection also failed, or when the
    loss happened where a retry is not the store's to decide (inside an apply
    transaction, after the handler ran).

    Attributes:
        commit_sent: The connection was lost while COMMIT was in flight: whether the
            transaction committed is unknown (the event's recorded state tells).
    """

    def __init__(self, message: str, *, commit_sent: bool = False) -> None:
        self.commit_sent = commit_sent
        super().__init__(message)


class ApplyContext(Protocol):
    """An open apply transaction, from :meth:`Store.applying`."""

    state: RecordState
    transaction: InboxTransaction

    def savepoint(self) -> Any:  # noqa: ANN401 - a context manager
        """Return a context manager that rolls the handler's writes back if it raises."""

    def mark_applied(self) -> None:
        """Mark the event applied, in the same transaction."""

    def mark_replayed(self) -> None:
        """Count an operator replay, in the same transaction."""

    def mark_failed(self, error: str) -> None:
        """Record a handler failure, in the same transaction."""


class Store(Protocol):
    """The storage an :class:`~payplane.Inbox` runs on (for type annotations).

    payplane's stores are the supported implementations; the protocol's internals
    (the apply context, the busy and unavailable signals) are private and may change.
    :class:`~payplane.Inbox` checks that its store has every method below.
    """

    def record(
        self, provider: str, event_key: str, body: bytes, event_json: str, *, wait: float
    ) -> RecordState:
        """Insert the event unless present; return its committed state.

        *event_json* is ASCII text (the inbox escapes every other character), so any
        text column keeps it exactly. Raises ``InboxBusyError`` when the write cannot
        start within *wait* seconds, ``StoreUnavailableError`` when the database cannot
        be reached.
        """
        ...

    def reject(self, provider: str, body: bytes, error: str) -> None:
        """Record a refused delivery for audit, pruning beyond the store's bounds."""
        ...

    def applying(self, provider: str, event_key: str, *, wait: float) -> Any:  # noqa: ANN401
        """Return a context manager holding the event's lock inside a transaction.

        It yields an apply context, commits on normal exit and rolls back on an
        exception. Raises ``InboxBusyError`` when the lock is not had within *wait*
        seconds, ``LookupError`` when the event is not recorded, and
        ``StoreUnavailableError`` when the connection is lost (then nothing committed,
        unless ``commit_sent`` says the outcome is unknown).
        """
        ...

    def get(self, provider: str, event_key: str) -> InboxRecord | None:
        """Return one record, or ``None``."""
        ...

    def records(
        self, *, state: RecordState | None = None, provider: str | None = None, limit: int = 100
    ) -> list[InboxRecord]:
        """Return records, newest first."""
        ...

    def rejected(self, *, limit: int = 100) -> list[RejectedPostback]:
        """Return refused deliveries, newest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


REJECTED_BODY_LIMIT = 64 * 1024


def storable_text(text: str) -> str:
    r"""Return *text* as every store can keep it.

    PostgreSQL's ``text`` cannot hold NUL and no UTF-8 column can hold a lone surrogate
    (``"\ud800"``, which JSON can carry): those are written as backslash escapes. Meant
    for diagnostics (errors), not for data that must round-trip.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def keepable(text: str) -> bool:
    """Whether every store can keep *text* exactly (no NUL, no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _retention(limit: object, max_age: object) -> tuple[int | None, timedelta | None]:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        msg = (
            "rejected_limit must be a positive int (how many refused deliveries to keep) "
            f"or None (no limit), not {limit!r}"
        )
        raise ConfigurationError(msg, field="rejected_limit")
    if max_age is not None and (not isinstance(max_age, timedelta) or max_age <= timedelta(0)):
        msg = (
            "rejected_max_age must be a positive datetime.timedelta (how long to keep a "
            f"refused delivery) or None (no limit), not {max_age!r}"
        )
        raise ConfigurationError(msg, field="rejected_max_age")
    return limit, max_age


def _positive_seconds(value: object, field: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = f"{field} must be a positive, finite number of seconds, not {value!r}"
        raise ConfigurationError(msg, field=field)
    return float(value)
