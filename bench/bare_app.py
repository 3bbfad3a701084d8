"""The baseline for the redirect benchmark: Flask on the same gunicorn settings, a fixed 302."""

from __future__ import annotations

from flask import Flask, redirect
from werkzeug.wrappers import Response


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/<code>")
    def fixed_redirect(code: str) -> Response:
        return redirect("https://example.org/landing", code=302)

    return app
