"""GET /{code}: the hot path, one Redis round trip per redirect.

`follow` is the redirect itself, answered as data: the Flask view below and the lean path
in front of Flask (web.fast_redirect) both call it, so a change to the redirect is made here
once. What each adds is only how it reads the request and sends the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, request
from werkzeug.exceptions import NotFound

from linkpulse.routes import REDIRECT_ROUTE
from web import codes, use_cases
from web.extensions import Services, services
from web.observability import current_request_id
from web.openapi import DocumentedBlueprint
from web.request_id import REQUEST_ID_HEADER
from web.security_headers import SECURITY_HEADERS

bp = DocumentedBlueprint("redirect", __name__)

FOUND_STATUS = "302 FOUND"


@dataclass(frozen=True)
class Visit:
    """What a redirect reads from its request."""

    code: str
    client_ip: str
    user_agent: str
    referer: str | None
    request_id: str
    # nginx's id for the client's request, the same on its retries (web.proxy).
    attempt_id: str


@dataclass(frozen=True)
class Found:
    """The whole answer to a found link, sent as it is by either caller."""

    status: str
    headers: list[tuple[str, str]]

    @property
    def status_code(self) -> int:
        return int(self.status.split(" ", 1)[0])


def found(url: str, request_id: str) -> Found:
    # Complete, so the lean path needs none of Flask's hooks: Flask's Response keeps these
    # as they are and in this order, and its hooks set the same values in place.
    # Stored URLs are ASCII-only (web.url_policy), so they go into the header as they are.
    # Every visit must reach us to be counted, so neither browsers nor proxies may cache it.
    return Found(
        FOUND_STATUS,
        [
            ("Location", url),
            ("Cache-Control", "no-store"),
            ("Content-Type", "text/html; charset=utf-8"),
            (REQUEST_ID_HEADER, request_id),
            *SECURITY_HEADERS.items(),
            ("Content-Length", "0"),
        ],
    )


def follow(app_services: Services, visit: Visit) -> Found | None:
    """The redirect: the link looked up and its click event recorded in one Redis step, then
    counted. None for an unknown or expired code (nothing recorded, nothing counted); a Redis
    failure raises, and the caller decides what to answer."""
    event = use_cases.click_event(
        visit.code,
        salt=app_services.settings.visitor_hash_salt.get_secret_value(),
        client_ip=visit.client_ip,
        user_agent=visit.user_agent,
        referer=visit.referer,
        request_id=visit.request_id,
    )
    url = app_services.store.resolve_and_record(event, visit.attempt_id)
    if url is None:
        return None
    app_services.metrics.count_found_redirect()
    return found(url, visit.request_id)


def _follow_this_request(code: str) -> Found | None:
    visit = Visit(
        code,
        client_ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        referer=request.headers.get("Referer"),
        request_id=current_request_id(),
        attempt_id=use_cases.redirect_attempt_id(),
    )
    app_services = services()
    try:
        answer = use_cases.riding_out_reconnects(lambda: follow(app_services, visit))
    except Exception:
        app_services.metrics.click_events.labels(result="failed").inc()
        raise
    if answer is None:
        app_services.metrics.redirects.labels(result="not_found").inc()
    return answer


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
    if request.method == "HEAD":
        # HEAD comes from link checkers and unfurlers, not visitors: answer it, count nothing.
        url = services().store.peek(code, use_cases.now_ms())
        answer = None if url is None else found(url, current_request_id())
    else:
        answer = _follow_this_request(code)
    if answer is None:
        raise NotFound()
    return Response(status=answer.status, headers=answer.headers)
