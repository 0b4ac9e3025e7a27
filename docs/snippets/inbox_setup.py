"""Build the inbox: a store, the handler, and the providers it accepts."""

from __future__ import annotations

import contextlib
import os
import sqlite3

import payplane
from payplane import InboxTransaction, PostbackEvent, PostbackKind


def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
    """Apply one postback. Runs once per distinct event."""
    # Writing through the inbox's own connection makes this write and the "applied"
    # mark one transaction: that is what makes the delivery exactly once.
    if event.kind is PostbackKind.DEPOSIT:
        transaction.connection.execute(
            "INSERT INTO ledger (event_key, customer_id, amount, currency) VALUES (?, ?, ?, ?)",
            (event.event_key, event.customer_id, str(event.amount.amount), event.amount.currency),
        )


def make_inbox(path: str, paykassma_settings: dict[str, object]) -> payplane.Inbox:
    """Return the inbox over the SQLite file *path*."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ledger"
            " (event_key TEXT, customer_id TEXT, amount TEXT, currency TEXT)"
        )
    store = payplane.SQLiteStore(path)  # the inbox's tables go into the same file
    return payplane.Inbox(store, credit, providers={"paykassma_wavepay": paykassma_settings})


def settings_from_environment() -> dict[str, object]:
    """Paykassma settings from the environment (secrets never in code)."""
    return {
        "api_host": os.environ["PAYKASSMA_API_HOST"],
        "plugin_host": os.environ["PAYKASSMA_PLUGIN_HOST"],
        "pluginapi_secret": os.environ["PAYKASSMA_PLUGINAPI_SECRET"],
        "withdrawal_private_key": os.environ["PAYKASSMA_WITHDRAWAL_PRIVATE_KEY"],
        "postback_access_key": os.environ["PAYKASSMA_POSTBACK_ACCESS_KEY"],
        "postback_private_key": os.environ["PAYKASSMA_POSTBACK_PRIVATE_KEY"],
    }
