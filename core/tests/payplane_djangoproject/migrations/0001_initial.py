"""The credits table."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations, models


class Migration(migrations.Migration):  # type: ignore[misc]  # Django is untyped
    """Create the credits table."""

    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.CreateModel(
            name="Credit",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_key", models.TextField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=20)),
            ],
        ),
    ]
