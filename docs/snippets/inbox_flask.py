"""Flask: one view that hands the raw body to the inbox."""

from __future__ import annotations

from flask import Flask, request

import payplane


def create_app(inbox: payplane.Inbox) -> Flask:
    """Return a Flask app that receives postbacks at /postbacks/<provider>."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = inbox.max_body  # Flask answers 413 beyond it

    @app.post("/postbacks/<provider>")
    def postbacks(provider: str) -> tuple[bytes, int, dict[str, str]]:
        answer = inbox.receive(provider, request.get_data(), dict(request.headers))
        return answer.content, answer.status_code, dict(answer.headers)

    return app
