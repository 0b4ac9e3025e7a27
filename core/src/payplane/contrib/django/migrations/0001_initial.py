"""The inbox tables, schema version 2, created with payplane's stores' own statements."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations, models

from payplane.contrib.django._schema import create_tables, drop_tables


def _create(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401 - Django's arguments
    del apps
    create_tables(schema_editor.connection)


def _drop(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401 - Django's arguments
    del apps
    drop_tables(schema_editor.connection)


class Migration(migrations.Migration):  # type: ignore[misc]  # Django is untyped
    """Create (or bring to version 2) the tables; declare the unmanaged models."""

    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[Any]] = [
        migrations.RunPython(_create, _drop),
        migrations.CreateModel(
            name="InboxRecord",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("provider", models.TextField()),
                ("account", models.TextField(blank=True, default="")),
                ("event_key", models.TextField()),
                ("kind", models.TextField(blank=True, default="")),
                ("state", models.TextField()),
                ("attempts", models.IntegerField(default=0)),
                ("replays", models.IntegerField(default=0)),
                ("received_at", models.DateTimeField()),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("dead_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True, default="")),
                ("headers", models.TextField(default="{}")),
                ("body", models.BinaryField()),
                ("event", models.TextField()),
            ],
            options={
                "verbose_name": "inbox record",
                "db_table": "payplane_postbacks",
                "ordering": ("-id",),
                "permissions": (
                    ("retry_inboxrecord", "Can retry an inbox record (apply it after a failure)"),
                    ("replay_inboxrecord", "Can replay an applied inbox record (apply it again)"),
                    ("requeue_inboxrecord", "Can re-queue a dead or failed inbox record"),
                ),
                "managed": False,
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="RejectedPostback",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("provider", models.TextField()),
                ("account", models.TextField(blank=True, default="")),
                ("received_at", models.DateTimeField()),
                ("error", models.TextField()),
                ("headers", models.TextField(default="{}")),
                ("body", models.BinaryField()),
            ],
            options={
                "verbose_name": "rejected delivery",
                "verbose_name_plural": "rejected deliveries",
                "db_table": "payplane_rejected",
                "ordering": ("-id",),
                "managed": False,
                "default_permissions": ("view",),
            },
        ),
    ]
