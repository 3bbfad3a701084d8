"""Per-request bookkeeping: request id, one JSON access-log line, metrics, response headers."""

from __future__ import annotations

import logging
import os
import random
import time

from flask import Flask, Response, g, request

from web.extensions import services
from web.request_id import REQUEST_ID_HEADER, request_id_from

access_log = logging.getLogger("web.access")

_HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def current_request_id() -> str:
    return str(g.get("request_id", ""))


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.started = time.perf_counter()


def _sampled(share: float) -> bool:
    # Not for security: a sampling decision.
    return share >= 1.0 or (share > 0.0 and random.random() < share)


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    services().metrics.observe_request(route, request.method, response.status_code, seconds)
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in _HTML_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    if response.status_code < 400 and not _sampled(services().settings.access_log_sample):
        return response
    access_log.info(
        "request",
        extra={
            "request_id": current_request_id(),
            # Which gunicorn worker answered; useful when one of them misbehaves.
            "pid": os.getpid(),
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 3),
        },
    )
    return response


def register_request_hooks(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
