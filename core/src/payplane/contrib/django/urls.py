"""The postback URLs: ``include("payplane.contrib.django.urls")``.

``path("payplane/", include("payplane.contrib.django.urls"))`` serves
``POST /payplane/<provider>`` (the provider's one account) and
``POST /payplane/<provider>/<account>`` (one of several merchant accounts), with or
without a trailing slash (a provider may not follow a redirect). The view is
CSRF-exempt (the provider's signature protects it), answers 405 to any method but POST,
and is exempt from ``ATOMIC_REQUESTS`` on every database: the inbox commits each event
itself, before it answers "ok". URL names: ``payplane:postback`` and
``payplane:postback-account``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import path

from payplane.contrib.django._views import postback

__all__ = ["app_name", "urlpatterns"]

app_name = "payplane"


def _non_atomic(view: Any) -> Any:  # noqa: ANN401 - a Django view
    for alias in settings.DATABASES:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


_view = _non_atomic(postback)

urlpatterns = [
    path("<str:provider>", _view, name="postback"),
    path("<str:provider>/", _view),
    path("<str:provider>/<str:account>", _view, name="postback-account"),
    path("<str:provider>/<str:account>/", _view),
]
