"""GET /{code}: the hot path, one Redis round trip per redirect."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import NotFound

from linkpulse.routes import REDIRECT_ROUTE
from web import codes, use_cases
from web.extensions import services
from web.openapi import DocumentedBlueprint

bp = DocumentedBlueprint("redirect", __name__)


@bp.operation(
    "GET",
    REDIRECT_ROUTE,
    summary="Follow a short link (records one click event)",
    responses={302: None, 404: "text/html", 503: "text/html"},
)
def follow_link(code: str) -> Response:
    # Reserved words (such as "api") and malformed codes can never be links: no Redis trip.
    if not codes.looks_like_code(code) or codes.is_reserved(code):
        raise NotFound()
    # HEAD comes from link checkers and unfurlers, not visitors: answer it, count nothing.
    url = (
        services().store.peek(code, use_cases.now_ms())
        if request.method == "HEAD"
        else use_cases.follow(code)
    )
    if url is None:
        raise NotFound()
    # Stored URLs are ASCII-only (web.url_policy), so they go into the header as they are.
    # Every visit must reach us to be counted, so neither browsers nor proxies may cache it.
    return Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
