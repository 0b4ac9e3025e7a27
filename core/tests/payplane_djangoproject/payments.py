"""The project's inbox: Paykassma Wavepay postbacks credited through the ORM.

``FAIL_FIRST`` names event keys whose first attempt fails after its credit was written
(the savepoint must roll that credit back); the set of keys that failed once is kept in
memory, shared by the threads of the test.
"""

from __future__ import annotations

import threading

import payplane_storm as storm

import payplane
from payplane import InboxTransaction, PostbackEvent
from payplane.contrib.django import DjangoStore
from payplane_djangoproject.models import Credit

FAIL_FIRST: set[str] = set()
_failed: set[str] = set()
_lock = threading.Lock()


def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
    """Credit *event* through the ORM on the inbox's database; fail some first attempts."""
    alias = transaction.connection.alias
    Credit.objects.using(alias).create(event_key=event.event_key, amount=event.amount.amount)
    with _lock:
        fail = event.event_key in FAIL_FIRST and event.event_key not in _failed
        if fail:
            _failed.add(event.event_key)
    if fail:
        msg = f"injected failure of the first attempt at {event.event_key}"
        raise RuntimeError(msg)


def reset() -> None:
    """Forget which events failed once, and which should."""
    with _lock:
        FAIL_FIRST.clear()
        _failed.clear()


def make_inbox(using: str, **kwargs: object) -> payplane.Inbox:
    """An inbox on *using* accepting Paykassma Wavepay, its one account and ``shop-a``."""
    return payplane.Inbox(
        DjangoStore(using),
        credit,
        providers={"paykassma_wavepay": storm.SETTINGS},
        accounts={"paykassma_wavepay": {"shop-a": storm.SETTINGS}},
        registry=payplane.Registry(strict=True),
        wait=30.0,
        **kwargs,  # type: ignore[arg-type]
    )


def sqlite_inbox() -> payplane.Inbox:
    """The inbox on the SQLite database (``settings.PAYPLANE_INBOX``)."""
    return make_inbox("default")


def postgres_inbox() -> payplane.Inbox:
    """The inbox on the PostgreSQL database."""
    return make_inbox("postgres")


def broken_inbox() -> payplane.Inbox:
    """A factory failing as one reading a missing environment variable does."""
    raise KeyError("PAYKASSMA_POSTBACK_ACCESS_KEY")


BROKEN = "payplane_djangoproject.payments.broken_inbox"
"""A ``PAYPLANE_INBOX`` value whose factory raises."""

INBOXES = {"default": "sqlite_inbox", "postgres": "postgres_inbox"}


def setting(alias: str) -> str:
    """The ``PAYPLANE_INBOX`` value naming the inbox on *alias*."""
    return f"payplane_djangoproject.payments.{INBOXES[alias]}"
