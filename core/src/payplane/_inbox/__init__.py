"""The postback inbox (private): receiver, stores, event codec, ASGI app.

One module per concern: ``_receiver`` (:class:`Inbox`), ``_store`` (the store protocol,
records, states and errors), ``_memory``, ``_sql`` (what the SQL stores share),
``_sqlite``, ``_postgres``, ``_codec`` (events to JSON and back) and ``_asgi``.
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
    RecordState,
    RejectedPostback,
    Store,
)

__all__ = [
    "Inbox",
    "InboxRecord",
    "InboxTransaction",
    "MemoryStore",
    "PostgresStore",
    "RecordState",
    "RejectedPostback",
    "SQLiteStore",
    "Store",
    "postback_app",
]
