"""The inbox as an ASGI app (Starlette; ``payplane[sandbox]`` or any Starlette install).

Starlette is imported when the app is built, not with this module, so
``from payplane import *`` works without it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from payplane._inbox._receiver import Inbox
from payplane.exceptions import ConfigurationError

if TYPE_CHECKING:
    import starlette.applications
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["postback_app"]

_EXTRA = 'postback_app needs Starlette: pip install "payplane[sandbox]"'


def _content_length(value: str | None) -> int | None:
    if value is None or not (value.isascii() and value.isdigit()):
        return None  # absent or not a number: the body is read and counted instead
    return int(value)


def postback_app(inbox: Inbox) -> starlette.applications.Starlette:
    """Return an ASGI app that feeds ``POST /{provider}`` and ``POST /{provider}/{account}``.

    Mount it where the provider sends postbacks, for example at ``/postbacks``
    (``app.mount("/postbacks", postback_app(inbox))``), and configure
    ``https://your.host/postbacks/paykassma_wavepay`` in the provider's panel — or, for
    one of several merchant accounts added with ``account=``,
    ``https://your.host/postbacks/paykassma_wavepay/shop-a``. A trailing slash is served
    the same, not redirected.

    The body is read up to ``inbox.max_body`` bytes. A longer one is answered 413
    without reading on: at once when its ``Content-Length`` says so, otherwise as soon
    as the count passes the limit, the answer stating the limit and "at least N bytes".
    Either way the refusal is kept among the rejected deliveries, with what was read.

    Raises:
        ConfigurationError: Starlette is not installed.
    """
    try:
        from starlette.applications import Starlette  # noqa: PLC0415
        from starlette.responses import Response  # noqa: PLC0415
        from starlette.routing import Route  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(_EXTRA) from exc

    async def receive(request: Request) -> Response:
        provider = request.path_params["provider"]
        account = request.path_params.get("account", "")
        limit = inbox.max_body
        declared = _content_length(request.headers.get("content-length"))
        if declared is not None and declared > limit:
            answer = await asyncio.to_thread(
                inbox._refuse_too_large,  # noqa: SLF001 - the inbox's own adapter
                provider,
                b"",
                size=declared,
                exact=True,
                account=account,
            )
        else:
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
            body = b"".join(chunks)
            if size > limit:
                # Not read to its end: its size is only known to be at least this.
                answer = await asyncio.to_thread(
                    inbox._refuse_too_large,  # noqa: SLF001 - the inbox's own adapter
                    provider,
                    body,
                    size=size,
                    exact=False,
                    account=account,
                )
            else:
                answer = await inbox.receive_async(provider, body, request.headers, account=account)
        return Response(
            answer.content, status_code=answer.status_code, headers=dict(answer.headers)
        )

    # Both spellings routed explicitly (no catch-all): a PSP may not follow a redirect.
    return Starlette(
        routes=[
            Route("/{provider}", receive, methods=["POST"]),
            Route("/{provider}/", receive, methods=["POST"]),
            Route("/{provider}/{account}", receive, methods=["POST"]),
            Route("/{provider}/{account}/", receive, methods=["POST"]),
        ]
    )
