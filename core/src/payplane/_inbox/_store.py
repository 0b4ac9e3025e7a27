"""Inbox stores: where postbacks are recorded durably and applied exactly once.

A store does these things atomically, for events keyed by ``(provider, account,
event_key)``:

* ``applying``: open a transaction holding the event's lock (waiting at most ``wait``
  seconds), so exactly one worker runs the handler, whose writes and the "applied" mark
  commit together or not at all. Given a new event, the same transaction first inserts
  it: record, handler and mark make one commit, and nothing is acknowledged before it.
  A failing handler's writes roll back to a savepoint and the failure is recorded in the
  same transaction, still under the lock;
* ``record``: insert the verified event once, committed before the receiver may answer
  "ok", without running anything (deferred mode, ignored events);
* ``claim``: the same transaction as ``applying``, for the next event due (deferred
  mode's workers), skipping those other workers hold;
* ``reject``: keep a refused delivery for audit, pruning the oldest beyond the store's
  bounds in the same transaction;
* ``prune``: delete what is old, in short batches.

A connection that dies (a database restart, a failover, a connection closed under the
store) is replaced: an idempotent step (recording, reading, keeping a rejected delivery,
opening an apply transaction) is tried once more on a fresh connection; past that the
store raises :class:`StoreUnavailableError`, which the inbox answers with the provider's
"send again".
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

import attrs

from payplane._inbox._codec import event_from_dict
from payplane._models import OtherEvent, PostbackEvent
from payplane.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_REJECTED_LIMIT",
    "DEFAULT_REJECTED_MAX_AGE",
    "REJECTED_BODY_LIMIT",
    "SCHEMA_VERSION",
    "ApplyContext",
    "EventRef",
    "InboxBusyError",
    "InboxRecord",
    "InboxTransaction",
    "NewRecord",
    "PruneResult",
    "RecordState",
    "RejectedPostback",
    "Store",
    "StoreUnavailableError",
    "keepable",
    "storable_text",
]

SCHEMA_VERSION = 2
"""The version of the tables payplane creates; stored in ``payplane_schema``."""

DEFAULT_REJECTED_LIMIT = 10_000
"""How many refused deliveries a store keeps by default (the newest)."""

DEFAULT_REJECTED_MAX_AGE = timedelta(days=30)
"""How long a store keeps a refused delivery by default."""


class RecordState(enum.Enum):
    """Where a recorded postback stands."""

    RECEIVED = "received"
    """Recorded; the handler has not completed yet (deferred mode: waiting for a worker)."""
    APPLIED = "applied"
    """The handler ran and committed; repeats are acknowledged without running it."""
    FAILED = "failed"
    """The handler raised; the next delivery, a worker (deferred mode, after a backoff) or
    an explicit retry applies it."""
    IGNORED = "ignored"
    """A verified event that is not a payment (a dispute, a settlement...): recorded and
    acknowledged, never given to the handler."""
    DEAD = "dead"
    """Deferred mode: the handler failed on every one of its attempts. Workers leave it
    alone until an operator re-queues it (:meth:`Inbox.requeue <payplane.Inbox.requeue>`,
    ``payplane inbox requeue``)."""


class EventRef(NamedTuple):
    """Which recorded event: the key a store records events under."""

    provider: str
    account: str
    event_key: str

    def __str__(self) -> str:
        where = f"{self.provider}/{self.account}" if self.account else self.provider
        return f"{where}/{self.event_key}"


@attrs.frozen(kw_only=True)
class NewRecord:
    """What the receiver records for a verified event (ASCII JSON texts, scrubbed)."""

    ref: EventRef
    kind: str
    body: bytes
    event_json: str
    headers_json: str


def _headers_map(value: object) -> Mapping[str, str]:
    return MappingProxyType(dict(value))  # type: ignore[call-overload]


@attrs.frozen(kw_only=True)
class InboxRecord:
    """A postback as the inbox recorded it.

    Attributes:
        provider: Provider id.
        event_key: The provider's event key (the deduplication key).
        state: Where it stands.
        attempts: How many times the handler ran to its end or failed (re-queuing a dead
            event starts the count again).
        replays: How many times an operator replayed it after it was applied.
        received_at: When it was first recorded (UTC).
        applied_at: When it was applied (the time of the transaction that committed the
            handler's work, UTC); for an ignored event, when it was recorded.
        last_error: The last handler error, secrets scrubbed.
        body: The raw body as received, with secret values replaced by ``***``.
        event_data: The parsed event as JSON-safe data, secret values replaced by ``***``
            (in every free-text member: raw members, customer id, references).
        account: The merchant account it was received for (``""``: the provider's one
            account, ``POST /{provider}``).
        headers: The delivery's headers that the provider needs to verify it again (its
            ``postback_headers``; names lower-case), secret values replaced by ``***``.
        next_attempt_at: Deferred mode: when a worker may next try it (UTC); ``None``
            once applied, ignored or dead, and for events received inline.
        dead_at: When it became dead (UTC), if it is.
        id: The store's row number: increases in order of recording; the cursor of
            :meth:`Inbox.records <payplane.Inbox.records>`.
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
    account: str = ""
    headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=_headers_map, repr=False, eq=False
    )
    next_attempt_at: datetime | None = None
    dead_at: datetime | None = None
    id: int = 0

    @property
    def ref(self) -> EventRef:
        """``(provider, account, event_key)``."""
        return EventRef(self.provider, self.account, self.event_key)

    @property
    def kind(self) -> str | None:
        """The event's kind as recorded (``"deposit"``, ``"withdrawal"``...)."""
        kind = self.event_data.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def event(self) -> PostbackEvent | OtherEvent:
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
        account: The merchant account in the URL (``""`` for ``POST /{provider}``).
        headers: The headers the provider reads to verify a delivery (names lower-case),
            secret values replaced by ``***``.
        id: The store's row number: the cursor of
            :meth:`Inbox.rejected <payplane.Inbox.rejected>`.
    """

    provider: str
    received_at: datetime
    error: str
    body: bytes = attrs.field(repr=False)
    account: str = ""
    headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=_headers_map, repr=False, eq=False
    )
    id: int = 0


@attrs.frozen(kw_only=True)
class PruneResult:
    """What :meth:`Inbox.prune <payplane.Inbox.prune>` deleted (or, dry run, would delete).

    Attributes:
        records: Applied and ignored records.
        rejected: Refused deliveries.
        dry_run: Whether nothing was deleted (the counts say what would have been).
    """

    records: int
    rejected: int
    dry_run: bool = False


@attrs.frozen
class InboxTransaction:
    """What a handler gets beside the event: the store's open transaction.

    Attributes:
        connection: The ``sqlite3.Connection`` or ``psycopg.Connection`` (from the
            store's pool) whose transaction will also mark the event applied; with
            :class:`~payplane.contrib.django.DjangoStore`, Django's connection
            (``django.db.connections[using]``), which the ORM writes through; the
            SQLAlchemy ``Connection`` for
            :class:`~payplane.contrib.sqlalchemy.SQLAlchemyStore` (whose ORM session
            :func:`payplane.contrib.sqlalchemy.session` gives); ``None`` for the
            in-memory store. Write through it to make your work and the "applied" mark
            atomic, which is what makes delivery exactly once. Do not commit, roll back
            or close it.
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
    """An open apply transaction holding one event, from a store's ``applying``/``claim``.

    ``fresh`` says the event was inserted by this very transaction (inline mode: one
    commit for record, handler and mark); it is then inserted as applied, and
    :meth:`mark_applied` has nothing left to do. ``state`` is the state the event had
    before (``RECEIVED`` when fresh).
    """

    ref: EventRef
    state: RecordState
    fresh: bool
    attempts: int
    event_json: str
    transaction: InboxTransaction

    def savepoint(self) -> Any:  # noqa: ANN401 - a context manager
        """Return a context manager that rolls the handler's writes back if it raises."""

    def mark_applied(self) -> None:
        """Mark the event applied, in the same transaction."""

    def mark_replayed(self) -> None:
        """Count an operator replay, in the same transaction."""

    def mark_ignored(self) -> None:
        """Settle the event as ignored (not a payment), in the same transaction."""

    def mark_failed(self, error: str, *, retry_in: float | None, dead: bool) -> None:
        """Record a handler failure, in the same transaction.

        *retry_in* (deferred mode) is how many seconds from now a worker may try again
        (``None``: no worker will); *dead* ends the attempts. An applied event (a failed
        replay) stays applied.
        """


class Store(Protocol):
    """The storage an :class:`~payplane.Inbox` runs on (for type annotations).

    payplane's stores are the supported implementations; the protocol's internals
    (the apply context, the busy and unavailable signals) are private and may change.
    :class:`~payplane.Inbox` checks that its store has every method below.
    """

    def record(
        self, new: NewRecord, state: RecordState, *, wait: float
    ) -> tuple[RecordState, bool]:
        """Insert the event in *state* unless present, in one commit.

        Returns its committed state and whether this call inserted it. A ``RECEIVED``
        event is due for workers at once. Raises ``InboxBusyError`` when the write cannot
        start within *wait* seconds, ``StoreUnavailableError`` when the database cannot
        be reached.
        """
        ...

    def reject(
        self, provider: str, account: str, body: bytes, error: str, headers_json: str
    ) -> None:
        """Record a refused delivery for audit, pruning beyond the store's bounds."""
        ...

    def applying(self, ref: EventRef, *, wait: float, new: NewRecord | None = None) -> Any:  # noqa: ANN401
        """Return a context manager holding the event's lock inside a transaction.

        With *new*, the event is first inserted (as applied, in this transaction) unless
        present: the context is then ``fresh``. It yields an apply context, commits on
        normal exit and rolls back on an exception. Raises ``InboxBusyError`` when the
        lock is not had within *wait* seconds, ``LookupError`` when the event is not
        recorded, and ``StoreUnavailableError`` when the connection is lost (then nothing
        committed, unless ``commit_sent`` says the outcome is unknown).
        """
        ...

    def claim(self, *, wait: float, lease: float) -> Any:  # noqa: ANN401
        """Return a context manager holding the next due event (or ``None``), as ``applying``.

        Due: received or failed, its ``next_attempt_at`` past. Events other workers hold
        are skipped. *lease* bounds how long the transaction may stay open where the
        database can enforce it (PostgreSQL).
        """
        ...

    def get(self, ref: EventRef) -> InboxRecord | None:
        """Return one record, or ``None``."""
        ...

    def records(
        self,
        *,
        state: RecordState | None = None,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[InboxRecord]:
        """Return records, newest first, those with ``id < after`` when *after* is given."""
        ...

    def rejected(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[RejectedPostback]:
        """Return refused deliveries, newest first (``id < after`` when given)."""
        ...

    def requeue(self, ref: EventRef) -> RecordState | None:
        """Make a dead or failed event due now with a new count of attempts.

        Returns the state afterwards, ``None`` when there is no such record.
        """
        ...

    def due(self, *, before: datetime, limit: int) -> list[EventRef]:
        """Return waiting events (received or failed) whose next attempt is before *before*."""
        ...

    def prune(
        self,
        *,
        applied_before: datetime | None,
        rejected_before: datetime | None,
        batch: int,
        dry_run: bool,
    ) -> PruneResult:
        """Delete applied and ignored records and refused deliveries older than the times."""
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


MAX_PAGE = 10_000
"""The most records one call of ``records()`` or ``rejected()`` returns."""


def check_page(limit: object, after: object) -> tuple[int, int | None]:
    """Check a page request: *limit* in 1..MAX_PAGE, *after* a record id or ``None``."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        msg = f"limit must be an int from 1 to {MAX_PAGE}, not {limit!r}"
        raise ValueError(msg)
    if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
        msg = f"after must be a record id (an int, the last id of the previous page), not {after!r}"
        raise ValueError(msg)
    return limit, after


_encode_ascii = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, sort_keys=True).encode


def headers_json(headers: Mapping[str, str]) -> str:
    """Return *headers* as the ASCII JSON text the stores keep (``{}`` for none)."""
    return _encode_ascii(dict(headers)) if headers else "{}"


def headers_from_json(text: object) -> dict[str, str]:
    """Read stored headers back (anything unreadable reads as none)."""
    if not text or text == "{}":
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
