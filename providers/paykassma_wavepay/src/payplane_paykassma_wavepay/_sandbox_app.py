"""The Wavepay sandbox as a Starlette app (``payplane[sandbox]``).

HTTP statuses: an answer ``{"status": "fail", ...}`` goes with 422, or 400 when the body
is not a JSON object at all; every other answer with 200; a missing or wrong
``?secret=`` gets Paykassma's HTML 404; a payment-window URL with a bad parameter gets a
400 naming it. Paykassma does not document the status of its
``fail`` answers; payplane's provider reads the body whatever the status.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from payplane_paykassma_wavepay._sandbox_state import (
    CURRENCY,
    MAXIMUM_AMOUNT,
    MESSAGE_NOT_JSON,
    WALLET_TYPE,
    Answer,
    WavepaySandbox,
    whole_amount,
)

__all__ = ["build_app"]

_NOT_FOUND = "<html><head><title>404 Not Found</title></head><body>Not Found</body></html>"
_LANGUAGES = frozenset({"en", "my"})


class _PhpJSON(JSONResponse):
    """JSON written as PHP does (compact, slashes and non-ASCII unescaped)."""

    def render(self, content: Any) -> bytes:  # noqa: ANN401 - any JSON value
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


async def _json_body(request: Request) -> Mapping[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except (ValueError, RecursionError):  # not JSON, not UTF-8, too deep for the parser
        return None
    return data if isinstance(data, dict) else None


def _not_json() -> Response:
    return _PhpJSON({"status": "fail", "message": MESSAGE_NOT_JSON}, status_code=400)


def _reply(answer: Answer) -> Response:
    """Answer with 422 for ``{"status": "fail"}``, else 200."""
    return _PhpJSON(answer, status_code=422 if answer.get("status") == "fail" else 200)


def build_app(sandbox: WavepaySandbox) -> Starlette:  # noqa: C901 - a closure per route
    """Return the routes of Paykassma's API over *sandbox*.

    ``POST /api/v1/transaction/create/{wallet_type}`` and ``POST
    /api/v1/transaction/activate`` need ``?secret=`` (404 otherwise, as Paykassma);
    ``POST /v2/withdrawal/create`` is checked by its signature; ``GET /plugin/`` is the
    hosted payment window; ``GET /_sandbox/state`` shows balances and withdrawals.
    """

    def plugin_api(
        handler: Callable[[Request, Mapping[str, Any]], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not sandbox.secret_ok(request.query_params.get("secret")):
                return HTMLResponse(_NOT_FOUND, status_code=404)
            data = await _json_body(request)
            if data is None:
                return _not_json()
            return await handler(request, data)

        return endpoint

    async def wallet_details(request: Request, data: Mapping[str, Any]) -> Response:
        if request.path_params["wallet_type"] != WALLET_TYPE:
            return HTMLResponse(_NOT_FOUND, status_code=404)
        return _reply(sandbox.wallet_details(data))

    async def activate(_request: Request, data: Mapping[str, Any]) -> Response:
        return _reply(sandbox.activate(data))

    async def withdraw(request: Request) -> Response:
        data = await _json_body(request)
        if data is None:
            return _not_json()
        return _reply(sandbox.create_withdrawal(data))

    async def payment_window(request: Request) -> Response:
        params = request.query_params
        label = params.get("label")
        amount = params.get("fixed_amount")
        problems = [
            problem
            for problem, bad in (
                ("label must be 1 to 190 characters", not label or len(label) > 190),  # noqa: PLR2004
                (
                    f"fixed_amount must be a whole number from 1 to {MAXIMUM_AMOUNT}",
                    amount is not None and whole_amount(amount) is None,
                ),
                ("wallet_type must be wavepay", params.get("wallet_type") != WALLET_TYPE),
                ("currency_code must be MMK", params.get("currency_code") != CURRENCY),
                ("lang must be en or my", params.get("lang", "en") not in _LANGUAGES),
            )
            if bad
        ]
        if problems:
            return PlainTextResponse("; ".join(problems), status_code=400)
        pay = f"{html.escape(amount)} MMK" if amount else "the amount of your choice"
        page = (
            "<!doctype html><html><head><title>Wavepay (payplane sandbox)</title></head><body>"
            f"<h1>Pay with Wavepay</h1><p>Send {pay} to Wavepay number "
            f"<b>{sandbox.wallet_identifier(label or '')}</b>, then enter the transaction id "
            "from your Wave app.</p><p>This is payplane's sandbox: no money moves.</p>"
            "</body></html>"
        )
        return HTMLResponse(page)

    async def state(_request: Request) -> Response:
        return _PhpJSON(sandbox.snapshot())

    app = Starlette(
        routes=[
            Route(
                "/api/v1/transaction/create/{wallet_type}",
                plugin_api(wallet_details),
                methods=["POST"],
            ),
            Route("/api/v1/transaction/activate", plugin_api(activate), methods=["POST"]),
            Route("/v2/withdrawal/create", withdraw, methods=["POST"]),
            Route("/plugin/", payment_window, methods=["GET"]),
            Route("/_sandbox/state", state, methods=["GET"]),
        ]
    )
    app.state.sandbox = sandbox
    return app
