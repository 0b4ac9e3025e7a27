"""The Razorpay sandbox as a Starlette app (``payplane[sandbox]``)."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from payplane_razorpay._sandbox_state import Answer, RazorpaySandbox, error

__all__ = ["build_app"]

_NOT_FOUND = "The requested URL was not found on the server."


def _json(answer: Answer) -> Response:
    return JSONResponse(answer.body, status_code=answer.status)


async def _body(request: Request) -> Mapping[str, Any] | None:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def build_app(sandbox: RazorpaySandbox) -> Starlette:  # noqa: C901 - a closure per route
    """Return the routes of Razorpay's API over *sandbox*.

    Every ``/v1`` route wants HTTP Basic auth with the sandbox's key id and the
    ``key_secret`` it was started with (401 "Authentication failed" otherwise); unknown
    routes answer 400 "The requested URL was not found on the server.", as Razorpay
    does. ``GET /i/{id}`` is a link's hosted page; ``GET /_sandbox/state`` shows the
    balance and every entity's status.
    """

    def api(
        handler: Callable[[Request, Mapping[str, Any]], Answer],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not sandbox.authorized(request.headers.get("authorization")):
                return _json(
                    error("Authentication failed", status=401, reason="authentication_failed")
                )
            data = await _body(request) if request.method == "POST" else {}
            if data is None:
                return _json(error("The request body must be a JSON object."))
            return _json(handler(request, data))

        return endpoint

    def param(request: Request, name: str) -> str:
        value: str = request.path_params[name]
        return value

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    routes = [
        Route(
            "/v1/payment_links",
            api(lambda r, d: sandbox.create_link(d, base(r))),
            methods=["POST"],
        ),
        Route(
            "/v1/payment_links/",
            api(lambda r, d: sandbox.create_link(d, base(r))),
            methods=["POST"],
        ),
        Route(
            "/v1/payment_links",
            api(lambda r, _d: sandbox.list_links(r.query_params)),
            methods=["GET"],
        ),
        Route(
            "/v1/payment_links/",
            api(lambda r, _d: sandbox.list_links(r.query_params)),
            methods=["GET"],
        ),
        Route(
            "/v1/payment_links/{id}",
            api(lambda r, _d: sandbox.get_link(param(r, "id"))),
            methods=["GET"],
        ),
        Route(
            "/v1/payment_links/{id}/cancel",
            api(lambda r, _d: sandbox.cancel_link(param(r, "id"))),
            methods=["POST"],
        ),
        Route(
            "/v1/payments/{id}",
            api(lambda r, _d: sandbox.get_payment(param(r, "id"))),
            methods=["GET"],
        ),
        Route(
            "/v1/payments/{id}/refund",
            api(
                lambda r, d: sandbox.create_refund(
                    param(r, "id"), d, r.headers.get("x-refund-idempotency")
                )
            ),
            methods=["POST"],
        ),
        Route(
            "/v1/payments/{id}/refunds",
            api(lambda r, _d: sandbox.list_refunds(param(r, "id"))),
            methods=["GET"],
        ),
        Route(
            "/v1/refunds/{id}",
            api(lambda r, _d: sandbox.get_refund(param(r, "id"))),
            methods=["GET"],
        ),
        Route("/v1/contacts", api(lambda _r, d: sandbox.create_contact(d)), methods=["POST"]),
        Route(
            "/v1/fund_accounts", api(lambda _r, d: sandbox.create_fund_account(d)), methods=["POST"]
        ),
        Route(
            "/v1/payouts",
            api(lambda r, d: sandbox.create_payout(d, r.headers.get("x-payout-idempotency"))),
            methods=["POST"],
        ),
        Route(
            "/v1/payouts", api(lambda r, _d: sandbox.list_payouts(r.query_params)), methods=["GET"]
        ),
        Route(
            "/v1/payouts/{id}",
            api(lambda r, _d: sandbox.get_payout(param(r, "id"))),
            methods=["GET"],
        ),
    ]

    async def hosted_page(request: Request) -> Response:
        answer = sandbox.get_link(param(request, "id"))
        if answer.status != 200:  # noqa: PLR2004
            return HTMLResponse("<h1>Payment Link not found</h1>", status_code=404)
        link = answer.body
        exponent_units = f"{link['amount']} (minor units of {html.escape(link['currency'])})"
        page = (
            "<!doctype html><html><head><title>Razorpay (payplane sandbox)</title></head><body>"
            f"<h1>Pay {exponent_units}</h1><p>Payment Link {html.escape(link['id'])}, "
            f"reference {html.escape(link['reference_id'] or '-')}: "
            f"<b>{html.escape(link['status'])}</b>.</p>"
            "<p>This is payplane's sandbox: no money moves; the link settles by itself "
            "(see the magic values on the Razorpay provider page).</p></body></html>"
        )
        return HTMLResponse(page)

    async def state(_request: Request) -> Response:
        return JSONResponse(sandbox.snapshot())

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return _json(error(_NOT_FOUND))

    app = Starlette(
        routes=[
            *routes,
            Route("/i/{id}", hosted_page, methods=["GET"]),
            Route("/_sandbox/state", state, methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_found},
    )
    app.state.sandbox = sandbox
    return app
