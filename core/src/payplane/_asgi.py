"""The inbox as an ASGI app (Starlette; ``payplane[sandbox]`` or any Starlette install)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payplane._inbox import Inbox

__all__ = ["postback_app"]


def postback_app(inbox: Inbox) -> Starlette:
    """Return an ASGI app that feeds ``POST /{provider}`` to *inbox*.

    Mount it where the provider sends postbacks, for example at ``/postbacks``
    (``app.mount("/postbacks", postback_app(inbox))``), and configure
    ``https://your.host/postbacks/paykassma_wavepay`` in the provider's panel. The body is
    read up to ``inbox.max_body`` bytes; a longer one is answered 413 without reading on.
    """

    async def receive(request: Request) -> Response:
        provider = request.path_params["provider"]
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > inbox.max_body:
                # Let the inbox answer and audit it, with only what was read so far.
                chunks.append(chunk)
                break
            chunks.append(chunk)
        answer = await inbox.receive_async(provider, b"".join(chunks), dict(request.headers))
        return Response(
            answer.content, status_code=answer.status_code, headers=dict(answer.headers)
        )

    return Starlette(routes=[Route("/{provider}", receive, methods=["POST"])])
