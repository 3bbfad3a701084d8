"""Use cases shared by the JSON API and the HTML pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import redis
from flask import request

from linkpulse.contract import ClickEvent
from web import clicks, quotas, url_policy
from web.errors import ApiError
from web.extensions import services
from web.proxy import EDGE_REQUEST_ID_HEADER
from web.request_id import request_id_from
from web.schemas import CreateLinkRequest, LinkCreated
from web.store import AliasTakenError, CreateQuota, QuotaExceededError, StorageFullError

T = TypeVar("T")

SECONDS_PER_DAY = 86_400
# How long a redirect keeps trying while Redis refuses connections (a restart), and its pauses.
# Short, so that an outage still answers 503 well before nginx's proxy_read_timeout.
RECONNECT_WINDOW_S = 2.0
RECONNECT_FIRST_PAUSE_S = 0.1
RECONNECT_MAX_PAUSE_S = 0.5
# What a 507 tells clients: space comes back as links expire or are deleted, not in a second.
STORAGE_RETRY_AFTER_S = 60


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lifetime_within_policy(expires_in: int | None, max_lifetime_days: int) -> int | None:
    """The lifetime to store: as asked, or LINK_MAX_LIFETIME_DAYS when unlimited was asked.

    A longer lifetime than the maximum is a 422 rather than silently shortened: the creator
    learns now, not when the link stops working.
    """
    if max_lifetime_days <= 0:
        return expires_in
    longest = max_lifetime_days * SECONDS_PER_DAY
    if expires_in is None:
        return longest
    if expires_in > longest:
        raise ApiError(
            422,
            f"expires_in must be at most {longest} seconds ({max_lifetime_days} days) here",
            field="expires_in",
        )
    return expires_in


def current_create_quota() -> CreateQuota | None:
    """The quota this request's client creates against (None: exempt, or no quota set)."""
    settings = services().settings
    return quotas.create_quota(
        request.remote_addr or "",
        settings.create_quota_per_hour,
        exempt=request.headers.get(quotas.EDGE_QUOTA_EXEMPT_HEADER) == "1",
        salt=settings.visitor_hash_salt.get_secret_value(),
    )


def create_link(body: CreateLinkRequest) -> LinkCreated:
    """Store a new link: 409 alias taken, 422 pointing at us, 429/507 past the storage policy."""
    app_services = services()
    metrics = app_services.metrics
    # A short link to a short link hides the destination and allows redirect loops.
    if url_policy.points_at(body.url, app_services.settings.public_base_url):
        raise ApiError(
            422,
            "URL points at this link shortener; shorten the destination itself",
            field="url",
        )
    expires_in = lifetime_within_policy(
        body.expires_in, app_services.settings.link_max_lifetime_days
    )
    try:
        new = app_services.store.create(
            body.url, body.alias, expires_in, now_ms(), current_create_quota()
        )
    except AliasTakenError:
        raise ApiError(
            409, f"alias {body.alias!r} is already taken", code="alias_taken", field="alias"
        ) from None
    except QuotaExceededError as exc:
        metrics.creates_refused.labels(reason="quota_exceeded").inc()
        raise ApiError(
            429,
            f"link creation quota used up for this client; retry in {exc.retry_after_s} s",
            code="quota_exceeded",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    except StorageFullError:
        metrics.creates_refused.labels(reason="storage_full").inc()
        raise ApiError(
            507,
            "storage is nearly full, so new links are refused for now; existing links work",
            code="storage_full",
            headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)},
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


def redirect_attempt_id() -> str:
    """nginx's id for this client request (the same on its retries), else a fresh one."""
    return request_id_from(request.headers.get(EDGE_REQUEST_ID_HEADER))


def riding_out_reconnects(attempt: Callable[[], T]) -> T:
    """`attempt` (a redirect: web.redirects.follow), tried again while Redis is briefly away.

    A Redis restart can run a redirect's script and close the connection before the reply is
    written: the click is recorded, and redis-py's one resend finds Redis gone. Answering 503
    then would count a click nobody was served. Trying the same attempt again once Redis is
    back settles it either way (the attempt key says "recorded": redirect; else record now),
    so for an outage shorter than RECONNECT_WINDOW_S the visitor is redirected and counted
    once. Only connection failures are retried: a timeout means Redis stalled, and the
    script's deadline already keeps a late run from recording anything.
    """
    give_up_at = time.monotonic() + RECONNECT_WINDOW_S
    pause_s = RECONNECT_FIRST_PAUSE_S
    while True:
        try:
            return attempt()
        except redis.TimeoutError:
            raise
        except redis.ConnectionError:
            if time.monotonic() + pause_s > give_up_at:
                raise
            time.sleep(pause_s)
            pause_s = min(2 * pause_s, RECONNECT_MAX_PAUSE_S)
