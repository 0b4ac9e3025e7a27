"""Django: the inbox on Django's database, its handler writing through the ORM.

This is your ``myproject/payments.py``. In settings.py::

    INSTALLED_APPS = [..., "payplane.contrib.django"]
    PAYPLANE_INBOX = "myproject.payments.inbox"

in urls.py::

    path("payplane/", include("payplane.contrib.django.urls")),

then ``python manage.py migrate``; and at the end of this module, the inbox that
``PAYPLANE_INBOX`` names: ``inbox = make_inbox(Deposit, settings_from_environment())``
(``Deposit`` a model of yours, ``settings_from_environment()`` a function of yours
returning the provider's settings).
"""

from __future__ import annotations

from typing import Any

import payplane
from payplane import InboxTransaction, PostbackEvent, PostbackKind
from payplane.contrib.django import DjangoStore


def make_inbox(deposit_model: Any, paykassma_settings: dict[str, object]) -> payplane.Inbox:  # noqa: ANN401
    """Return the inbox; *deposit_model* is your model of credited deposits."""

    def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
        """Apply one postback. Runs once per distinct event."""
        # An ORM write on the inbox's database joins the transaction that marks the
        # event applied: both commit, or neither. That makes the delivery exactly once.
        # (transaction.connection is Django's connection; .using() only matters when
        # the inbox is not on the "default" database.)
        if event.kind is PostbackKind.DEPOSIT:
            deposit_model.objects.using(transaction.connection.alias).create(
                event_key=event.event_key, amount=event.amount.amount
            )

    # DjangoStore() runs on DATABASES["default"]; DjangoStore("payments") on another.
    return payplane.Inbox(
        DjangoStore(), credit, providers={"paykassma_wavepay": paykassma_settings}
    )
