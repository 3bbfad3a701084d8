"""Per-request bookkeeping: request id, one JSON access-log line, metrics, response headers
(the security headers come from web.security_headers)."""

from __future__ import annotations

import logging
import os
import random
import time

from flask import Flask, Response, g, request

from linkpulse.probe import PROBE_HEADER, is_probe
from web.extensions import services
from web.request_id import REQUEST_ID_HEADER, request_id_from
from web.security_headers import SECURITY_HEADERS

access_log = logging.getLogger("web.access")


def current_request_id() -> str:
    return str(g.get("request_id", ""))


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.started = time.perf_counter()


def _sampled(share: float) -> bool:
    # Not for security: a sampling decision.
    return share >= 1.0 or (share > 0.0 and random.random() < share)


def log_access(
    share: float,
    *,
    request_id: str,
    method: str,
    route: str,
    path: str,
    status: int,
    seconds: float,
) -> None:
    """One JSON access-log line for every failed request and for `share` of the others."""
    if status < 400 and not _sampled(share):
        return
    access_log.info(
        "request",
        extra={
            "request_id": request_id,
            # Which gunicorn worker answered; useful when one of them misbehaves.
            "pid": os.getpid(),
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        },
    )


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    app_services = services()
    app_services.metrics.observe_request(
        route,
        request.method,
        response.status_code,
        seconds,
        probe=is_probe(request.headers.get(PROBE_HEADER)),
    )
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    # On every response, JSON included: the headers cost nothing there, and a rule that
    # depends on the content type is one more way for a page to go out without them.
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    log_access(
        app_services.settings.access_log_sample,
        request_id=current_request_id(),
        method=request.method,
        route=route,
        path=request.path,
        status=response.status_code,
        seconds=seconds,
    )
    return response


def register_request_hooks(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
