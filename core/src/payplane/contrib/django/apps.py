"""The Django app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class PayplaneConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    """``payplane.contrib.django``: the postback inbox in a Django project.

    Its app label is ``payplane`` (permissions read ``payplane.retry_inboxrecord``).
    """

    name = "payplane.contrib.django"
    label = "payplane"
    verbose_name = "Payplane postback inbox"
    default_auto_field = "django.db.models.BigAutoField"
