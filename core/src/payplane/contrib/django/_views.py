"""The postback view: raw body and headers in, the inbox's answer out."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payplane._http import PostbackAnswer
from payplane.contrib.django._settings import get_inbox
from payplane.exceptions import ConfigurationError

__all__ = ["postback"]

_logger = logging.getLogger("payplane.contrib.django")

_UNAVAILABLE = PostbackAnswer(
    status_code=503,
    content=b'{"status": "error", "error": "the postback inbox is not available"}',
    headers={"content-type": "application/json"},
)


def _declared_length(request: HttpRequest) -> int | None:
    value = request.META.get("CONTENT_LENGTH")
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None  # absent or not a number: the body is read and counted instead
    return int(value)


def _answer(request: HttpRequest, provider: str, account: str) -> PostbackAnswer:
    try:
        inbox = get_inbox()
    except ConfigurationError:
        # The project's mistake, not the sender's: logged in full for the operators, the
        # PSP asked to send again (nothing recorded, so nothing lost), and no detail of
        # the configuration in the answer.
        _logger.exception("settings.PAYPLANE_INBOX: no inbox to receive a postback")
        return _UNAVAILABLE
    limit = inbox.max_body
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        # Refused without reading on, as the ASGI app does; kept among the rejected.
        return inbox._refuse_too_large(  # noqa: SLF001 - the inbox's own adapter
            provider, b"", size=declared, exact=True, account=account
        )
    # Read from the stream, not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is for forms.
    body = request.read(limit + 1)
    if len(body) > limit:
        return inbox._refuse_too_large(  # noqa: SLF001 - the inbox's own adapter
            provider, body, size=len(body), exact=False, account=account
        )
    return inbox.receive(provider, body, dict(request.headers), account=account)


@csrf_exempt  # type: ignore[untyped-decorator]  # the provider cannot send a CSRF token
@require_POST  # type: ignore[untyped-decorator]  # 405 for any other method
def postback(request: HttpRequest, provider: str, account: str = "") -> HttpResponse:
    """Feed one delivery to the project's inbox (``settings.PAYPLANE_INBOX``).

    The body is read raw from the request's stream, at most ``inbox.max_body`` bytes
    (a longer one is answered 413 and kept among the rejected deliveries); the headers
    are passed as Django gives them. The answer is the inbox's
    :class:`~payplane.PostbackAnswer`: its status, body and content type. When the
    project's inbox cannot be loaded (:func:`~payplane.contrib.django.get_inbox` raises
    :class:`~payplane.exceptions.ConfigurationError`), the error is logged on the
    ``payplane.contrib.django`` logger and the answer is 503, so the PSP sends again.
    """
    answer = _answer(request, provider, account)
    headers: dict[str, Any] = dict(answer.headers)
    return HttpResponse(answer.content, status=answer.status_code, headers=headers)
