"""GET /{code} for a link that exists, answered without Flask's request machinery.

Redirects are nearly all of the traffic, and under load Flask's per-request work (request
and app contexts, routing, hooks, the Response object) cost more than the Redis round trip
the redirect needs (issue 9's profile). This WSGI layer sits between the proxy middleware
(so REMOTE_ADDR is already the client's) and Flask, and answers exactly what the Flask view
answers for a found link: the redirect itself (lookup, click event, status and headers) is
web.redirects.follow for both, and this layer adds the request metrics and access log that
Flask's hooks add there.

Everything else goes to Flask untouched, before anything was counted: other methods and
paths, malformed or reserved codes, unknown or expired links (Flask looks again and answers
404), and every Redis failure (Flask tries once more and answers 503 if it fails again).
The retry is harmless: it carries this request's attempt id, so a click whose script ran but
whose reply was lost is not recorded twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from linkpulse.probe import PROBE_ENVIRON, is_probe
from linkpulse.routes import REDIRECT_ROUTE
from web import codes, redirects
from web.extensions import Services
from web.observability import log_access
from web.proxy import EDGE_REQUEST_ID_ENVIRON
from web.request_id import request_id_from

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"


class FastRedirect:
    def __init__(self, app: WSGIApplication, services: Services) -> None:
        self.app = app
        self.services = services

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        code = path[1:]
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith("/")
            or not codes.looks_like_code(code)
            or codes.is_reserved(code)
        ):
            return self.app(environ, start_response)
        started = time.perf_counter()
        # Fixed in the environ, so that Flask, should it answer after all, uses the same ids.
        request_id = request_id_from(environ.get(_REQUEST_ID_ENVIRON))
        attempt_id = request_id_from(environ.get(EDGE_REQUEST_ID_ENVIRON))
        environ[_REQUEST_ID_ENVIRON] = request_id
        environ[EDGE_REQUEST_ID_ENVIRON] = attempt_id
        visit = redirects.Visit(
            code,
            client_ip=environ.get("REMOTE_ADDR") or "",
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            referer=environ.get("HTTP_REFERER"),
            request_id=request_id,
            attempt_id=attempt_id,
        )
        try:
            answer = redirects.follow(self.services, visit)
        except Exception:
            return self.app(environ, start_response)
        if answer is None:
            return self.app(environ, start_response)
        start_response(answer.status, answer.headers)
        seconds = time.perf_counter() - started
        probe = is_probe(environ.get(PROBE_ENVIRON))
        self.services.metrics.observe_request(
            REDIRECT_ROUTE, "GET", answer.status_code, seconds, probe=probe
        )
        log_access(
            self.services.settings.access_log_sample,
            request_id=request_id,
            method="GET",
            route=REDIRECT_ROUTE,
            path=path,
            status=answer.status_code,
            seconds=seconds,
        )
        return [b""]
