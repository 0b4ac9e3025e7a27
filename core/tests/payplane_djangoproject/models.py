"""The platform's own table: one credit row per applied deposit, no unique constraint."""

from __future__ import annotations

from django.db import models


class Credit(models.Model):  # type: ignore[misc]  # Django is untyped
    """A credit the handler writes through the ORM: a double application shows as two rows."""

    event_key = models.TextField()
    amount = models.DecimalField(max_digits=20, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.event_key}: {self.amount}"
