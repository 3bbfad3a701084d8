"""Per-request bookkeeping: request id, one JSON access-log line, metrics, response headers
(the security headers come from web.security_headers)."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, request

from web.extensions import services
from web.request_id import REQUEST_ID_HEADER, request_id_from
from web.security_headers import SECURITY_HEADERS

access_log = logging.getLogger("web.access")


def current_request_id() -> str:
    return str(g.get("request_id", ""))


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    services().metrics.observe_request(route, request.method, response.status_code, seconds)
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    # On every response, JSON included: the headers cost nothing there, and a rule that
    # depends on the content type is one more way for a page to go out without them.
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
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
