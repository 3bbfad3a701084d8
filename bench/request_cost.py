"""CPU cost of one request inside the process, without gunicorn or sockets to the client.

Explains the redirect ratio: it splits a redirect's cost into the Flask baseline, the app
as a whole, and one bare Redis round trip (PING) on the same connection pool.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench.bare_app import create_app as create_bare_app

REQUESTS = 5_000
WARM_UP = 300


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "bench",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }


def _cpu_us(call: Callable[[], object]) -> float:
    for _ in range(WARM_UP):
        call()
    started = time.process_time()
    for _ in range(REQUESTS):
        call()
    return (time.process_time() - started) / REQUESTS * 1e6


def _wsgi_call(app: Callable[..., Iterable[bytes]], path: str) -> Callable[[], object]:
    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: object) -> None:
        return None

    return lambda: b"".join(app(_environ(path), start_response))


def measure(redis_url: str) -> dict[str, float]:
    """Microseconds of this process's CPU per request: bare app, real redirect, Redis PING."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="linkpulse-bench-"))
    from web import create_app  # noqa: PLC0415 - needs the metrics dir set first
    from web.config import WebSettings  # noqa: PLC0415

    settings = WebSettings.model_validate(
        {
            "REDIS_URL": redis_url,
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "VISITOR_HASH_SALT": "bench-salt-0123456789",
            "LOG_LEVEL": "WARNING",
        }
    )
    app = create_app(settings)
    created = app.test_client().post("/api/links", json={"url": "https://example.org/landing"})
    code = created.get_json()["code"]
    with app.app_context():
        from web.extensions import services  # noqa: PLC0415

        store = services().store
    return {
        "bare_request_us": _cpu_us(_wsgi_call(create_bare_app(), "/abcdefg")),
        "app_redirect_us": _cpu_us(_wsgi_call(app, f"/{code}")),
        "redis_ping_us": _cpu_us(store.ping),
    }
