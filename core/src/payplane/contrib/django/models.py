"""Read-only models over the inbox tables, for the admin (``managed = False``).

The tables belong to payplane's stores: their layout (schema version 2) is the one
:class:`~payplane.SQLiteStore` and :class:`~payplane.PostgresStore` create, with
partial indexes, binary bodies and, on SQLite, times kept as ISO 8601 text. Django
must neither create nor alter them, so the models are unmanaged: the app's migration
creates the tables with the stores' own statements, and these models only map the
columns for reading. Write through the inbox (:class:`payplane.Inbox`), never through
these models: the admin offers no add, change or delete.
"""

from __future__ import annotations

from django.db import models


class InboxRecord(models.Model):  # type: ignore[misc]  # Django is untyped
    """A recorded postback (the ``payplane_postbacks`` table), scrubbed of secrets."""

    id = models.BigAutoField(primary_key=True)
    provider = models.TextField()
    account = models.TextField(blank=True, default="")
    event_key = models.TextField()
    kind = models.TextField(blank=True, default="")
    state = models.TextField()
    attempts = models.IntegerField(default=0)
    replays = models.IntegerField(default=0)
    received_at = models.DateTimeField()
    applied_at = models.DateTimeField(blank=True, null=True)
    next_attempt_at = models.DateTimeField(blank=True, null=True)
    dead_at = models.DateTimeField(blank=True, null=True)
    last_error = models.TextField(blank=True, default="")
    headers = models.TextField(default="{}")
    body = models.BinaryField()
    event = models.TextField()

    class Meta:
        """Unmanaged; only viewing, plus the operator's three actions, are permitted."""

        managed = False
        db_table = "payplane_postbacks"
        ordering = ("-id",)
        verbose_name = "inbox record"
        default_permissions = ("view",)
        permissions = (
            ("retry_inboxrecord", "Can retry an inbox record (apply it after a failure)"),
            ("replay_inboxrecord", "Can replay an applied inbox record (apply it again)"),
            ("requeue_inboxrecord", "Can re-queue a dead or failed inbox record"),
        )

    def __str__(self) -> str:
        """``provider[/account]/event_key``, as the CLI names an event."""
        where = f"{self.provider}/{self.account}" if self.account else self.provider
        return f"{where}/{self.event_key}"


class RejectedPostback(models.Model):  # type: ignore[misc]  # Django is untyped
    """A refused delivery (the ``payplane_rejected`` table), scrubbed of secrets."""

    id = models.BigAutoField(primary_key=True)
    provider = models.TextField()
    account = models.TextField(blank=True, default="")
    received_at = models.DateTimeField()
    error = models.TextField()
    headers = models.TextField(default="{}")
    body = models.BinaryField()

    class Meta:
        """Unmanaged and view-only."""

        managed = False
        db_table = "payplane_rejected"
        ordering = ("-id",)
        verbose_name = "rejected delivery"
        verbose_name_plural = "rejected deliveries"
        default_permissions = ("view",)

    def __str__(self) -> str:
        """``provider[/account] #id``."""
        where = f"{self.provider}/{self.account}" if self.account else self.provider
        return f"{where} #{self.id}"
