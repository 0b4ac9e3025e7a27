"""The postback inbox (private): receiver, stores, event codec, ASGI app.

One module per concern: ``_receiver`` (:class:`Inbox`), ``_store`` (the store protocol,
records, states and errors), ``_memory``, ``_sql`` (what the SQL stores share),
``_sqlite``, ``_postgres``, ``_codec`` (events to JSON and back), ``_workers``
(deferred mode's retry schedule and summary) and ``_asgi``.
The public names are re-exported by :mod:`payplane`; import them from there.
"""

from __future__ import annotations

from payplane._inbox._asgi import postback_app
from payplane._inbox._memory import MemoryStore
from payplane._inbox._postgres import PostgresStore
from payplane._inbox._receiver import Inbox
from payplane._inbox._sqlite import SQLiteStore
from payplane._inbox._store import (
    InboxRecord,
    InboxTransaction,
    PruneResult,
    RecordState,
    RejectedPostback,
    Store,
)
from payplane._inbox._workers import Backoff, WorkSummary

__all__ = [
    "Backoff",
    "Inbox",
    "InboxRecord",
    "InboxTransaction",
    "MemoryStore",
    "PostgresStore",
    "PruneResult",
    "RecordState",
    "RejectedPostback",
    "SQLiteStore",
    "Store",
    "WorkSummary",
    "postback_app",
]
