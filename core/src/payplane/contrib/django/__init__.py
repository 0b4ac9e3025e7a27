"""payplane in a Django project (``payplane[django]``): exactly once with the ORM.

Add the app, name your inbox, include the URLs, migrate::

    # settings.py
    INSTALLED_APPS = [..., "payplane.contrib.django"]
    PAYPLANE_INBOX = "myproject.payments.inbox"  # an Inbox, or a function returning one

    # urls.py
    path("payplane/", include("payplane.contrib.django.urls"))

    # myproject/payments.py
    inbox = payplane.Inbox(DjangoStore(), handler, providers={...})

    python manage.py migrate payplane

:class:`DjangoStore` runs the inbox on Django's own database connection, so the ORM
writes of a handler commit with the "applied" mark. The app brings the migration of the
inbox tables, the postback view (``payplane.contrib.django.urls``), read-only admin
pages with permission-checked retry, replay and re-queue actions, and the management
command ``payplane_inbox`` (``list``, ``show``, ``retry``, ``replay``, ``requeue``,
``work``, ``prune``). See :doc:`/howto/django`.

Importing this package imports neither the models nor the admin: it is safe in
settings-time code such as the module that builds the inbox.
"""

from __future__ import annotations

try:
    import django  # noqa: F401 - only to name the extra when it is missing
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    msg = 'payplane.contrib.django needs Django: pip install "payplane[django]"'
    raise ImportError(msg) from exc

from payplane.contrib.django._settings import INBOX_SETTING, get_inbox
from payplane.contrib.django._store import DjangoStore

__all__ = ["INBOX_SETTING", "DjangoStore", "get_inbox"]
