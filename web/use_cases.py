"""Use cases shared by the JSON API and the HTML pages."""

from __future__ import annotations

import time

from flask import request

from linkpulse.contract import ClickEvent
from web import clicks, url_policy
from web.errors import ApiError
from web.extensions import services
from web.metrics import WebMetrics
from web.observability import current_request_id
from web.proxy import EDGE_REQUEST_ID_HEADER
from web.request_id import request_id_from
from web.schemas import CreateLinkRequest, LinkCreated
from web.store import AliasTakenError


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def create_link(body: CreateLinkRequest) -> LinkCreated:
    """Store a new link; 409 when the alias is taken, 422 when it would point at us."""
    app_services = services()
    # A short link to a short link hides the destination and allows redirect loops.
    if url_policy.points_at(body.url, app_services.settings.public_base_url):
        raise ApiError(
            422,
            "URL points at this link shortener; shorten the destination itself",
            field="url",
        )
    try:
        new = app_services.store.create(body.url, body.alias, body.expires_in, now_ms())
    except AliasTakenError:
        raise ApiError(
            409, f"alias {body.alias!r} is already taken", code="alias_taken", field="alias"
        ) from None
    app_services.metrics.links_created.inc()
    return LinkCreated(
        code=new.link.code,
        short_url=app_services.settings.short_url(new.link.code),
        url=new.link.url,
        created_at=new.link.created_at,
        expires_at=new.link.expires_at,
        manage_token=new.manage_token,
    )


def click_event(
    code: str, *, salt: str, client_ip: str, user_agent: str, referer: str | None, request_id: str
) -> ClickEvent:
    """A redirect's click event; the visitor is a salted hash, never the IP."""
    return ClickEvent(
        code=code,
        ts_ms=now_ms(),
        referrer_host=clicks.referrer_host(referer),
        ua_class=clicks.ua_class(user_agent),
        visitor_hash=clicks.visitor_hash(salt, client_ip, user_agent),
        request_id=request_id,
    )


def click_event_for(code: str) -> ClickEvent:
    """The click event of the current request."""
    return click_event(
        code,
        salt=services().settings.visitor_hash_salt.get_secret_value(),
        client_ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        referer=request.headers.get("Referer"),
        request_id=current_request_id(),
    )


def count_redirect(metrics: WebMetrics) -> None:
    """A redirect answered, its click event written with it."""
    metrics.redirects.labels(result="found").inc()
    metrics.click_events.labels(result="written").inc()


def redirect_attempt_id() -> str:
    """nginx's id for this client request (the same on its retries), else a fresh one."""
    return request_id_from(request.headers.get(EDGE_REQUEST_ID_HEADER))


def follow(code: str) -> str | None:
    """The destination for a redirect, its click event recorded; None if unknown/expired."""
    app_services = services()
    metrics = app_services.metrics
    try:
        url = app_services.store.resolve_and_record(click_event_for(code), redirect_attempt_id())
    except Exception:
        metrics.click_events.labels(result="failed").inc()
        raise
    if url is None:
        metrics.redirects.labels(result="not_found").inc()
        return None
    count_redirect(metrics)
    return url
