"""GET /{code}: the hot path, one Redis round trip per redirect."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import NotFound

from linkpulse.routes import REDIRECT_ROUTE
from web import codes, use_cases
from web.extensions import services
from web.observability import current_request_id
from web.openapi import DocumentedBlueprint
from web.request_id import REQUEST_ID_HEADER
from web.security_headers import SECURITY_HEADERS

bp = DocumentedBlueprint("redirect", __name__)

FOUND_STATUS = "302 FOUND"


def found_headers(url: str, request_id: str) -> list[tuple[str, str]]:
    """Every header of the redirect to a found link, for the Flask view and the lean path
    (web.fast_redirect) alike. Complete, so the lean path needs none of Flask's hooks; the
    hooks leave them as they are (they set the same values in place)."""
    # Stored URLs are ASCII-only (web.url_policy), so they go into the header as they are.
    # Every visit must reach us to be counted, so neither browsers nor proxies may cache it.
    return [
        ("Location", url),
        ("Cache-Control", "no-store"),
        ("Content-Type", "text/html; charset=utf-8"),
        (REQUEST_ID_HEADER, request_id),
        *SECURITY_HEADERS.items(),
        ("Content-Length", "0"),
    ]


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
    return Response(status=FOUND_STATUS, headers=found_headers(url, current_request_id()))
