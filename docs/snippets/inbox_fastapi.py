"""FastAPI: mount the inbox's ASGI app, or call it from your own route."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

import payplane


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than *limit* + 1 bytes: the inbox answers 413 past *limit*.

    Not ``await request.body()``: that reads a body of any size into memory first.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            break
    return bytes(body)


def create_app(inbox: payplane.Inbox) -> FastAPI:
    """Return a FastAPI app that receives postbacks at /postbacks/{provider}."""
    app = FastAPI()
    # Either mount the ready-made Starlette app...
    app.mount("/postbacks", payplane.postback_app(inbox))

    # ...or write the route yourself (here under another path, to show both).
    @app.post("/hooks/{provider}")
    async def postbacks(provider: str, request: Request) -> Response:
        body = await read_body(request, inbox.max_body)
        answer = await inbox.receive_async(provider, body, dict(request.headers))
        return Response(answer.content, answer.status_code, dict(answer.headers))

    return app
