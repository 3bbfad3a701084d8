"""GET /{code} for a link that exists, answered without Flask's request machinery.

Redirects are nearly all of the traffic, and under load Flask's per-request work (request
and app contexts, routing, hooks, the Response object) cost more than the Redis round trip
the redirect needs (issue 9's profile). This WSGI layer sits between the proxy middleware
(so REMOTE_ADDR is already the client's) and Flask, and answers exactly what the Flask view
answers for a found link: the same status and headers (one function, web.redirects.found_headers,
builds them for both), click event, metrics and access log.

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
from web import codes, use_cases
from web.extensions import Services
from web.observability import log_access
from web.proxy import EDGE_REQUEST_ID_ENVIRON
from web.redirects import FOUND_STATUS, found_headers
from web.request_id import request_id_from

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"


class FastRedirect:
    def __init__(self, app: WSGIApplication, services: Services) -> None:
        self.app = app
        self.services = services
        self.salt = services.settings.visitor_hash_salt.get_secret_value()

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
        user_agent: str = environ.get("HTTP_USER_AGENT", "")
        event = use_cases.click_event(
            code,
            salt=self.salt,
            client_ip=environ.get("REMOTE_ADDR") or "",
            user_agent=user_agent,
            referer=environ.get("HTTP_REFERER"),
            request_id=request_id,
        )
        try:
            url = self.services.store.resolve_and_record(event, attempt_id)
        except Exception:
            return self.app(environ, start_response)
        if url is None:
            return self.app(environ, start_response)
        metrics = self.services.metrics
        use_cases.count_redirect(metrics)
        start_response(FOUND_STATUS, found_headers(url, request_id))
        seconds = time.perf_counter() - started
        probe = is_probe(environ.get(PROBE_ENVIRON))
        metrics.observe_request(REDIRECT_ROUTE, "GET", 302, seconds, probe=probe)
        log_access(
            self.services.settings.access_log_sample,
            request_id=request_id,
            method="GET",
            route=REDIRECT_ROUTE,
            path=path,
            status=302,
            seconds=seconds,
        )
        return [b""]
