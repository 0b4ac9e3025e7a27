"""Django: a CSRF-exempt view and its URL pattern."""
# mypy: disable-error-code="untyped-decorator"
# (Django ships no type information, so its view decorators are untyped.)

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import payplane


def postback_urls(inbox: payplane.Inbox) -> list[URLPattern]:
    """Return the URL patterns to include: POST postbacks/<provider>."""

    @csrf_exempt  # the provider cannot send a CSRF token: the signature protects the view
    @require_POST
    def postbacks(request: HttpRequest, provider: str) -> HttpResponse:
        answer = inbox.receive(provider, request.body, dict(request.headers))
        response = HttpResponse(answer.content, status=answer.status_code)
        for name, value in answer.headers.items():
            response[name] = value
        return response

    view: Callable[..., HttpResponse] = postbacks
    return [path("postbacks/<str:provider>", view)]
