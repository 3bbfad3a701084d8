"""web.fast_redirect answers a found link's redirect exactly as the Flask view does.

Every other redirect test goes through the fast path already (it is part of the app); these
send the same request to it and to the Flask app behind it, and compare what each produced.
"""

from __future__ import annotations

from dataclasses import replace

import redis
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from linkpulse import contract
from tests.support.click_data import parse_click_event
from tests.support.web_app import MakeApp
from web.fast_redirect import FastRedirect

HEADERS = {
    "X-Request-ID": "same-request",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    "Referer": "https://news.example/today",
}


def _layers(app: Flask) -> tuple[FastRedirect, object]:
    fast = app.wsgi_app.app  # type: ignore[attr-defined]  # under TrustedProxyFix
    assert isinstance(fast, FastRedirect)
    return fast, fast.app


def _get(wsgi_app: object, path: str, **headers: str) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = EnvironBuilder(path=path, headers={**HEADERS, **headers}).get_environ()
    body, status, response_headers = run_wsgi_app(wsgi_app, environ)  # type: ignore[arg-type]
    return status, list(response_headers.items()), b"".join(body)


def _metric(app: Flask, sample: str) -> float:
    for line in app.test_client().get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_found_link_answers_and_counts_like_flask(make_app: MakeApp, redis_url: str) -> None:
    app = make_app()
    code = app.test_client().post("/api/links", json={"url": "https://example.org/a"}).json["code"]  # type: ignore[index]
    fast, flask_only = _layers(app)

    assert _get(fast, f"/{code}") == _get(flask_only, f"/{code}")

    db = redis.Redis.from_url(redis_url, decode_responses=True)
    events = [parse_click_event(fields) for _, fields in db.xrange(contract.CLICK_STREAM)]
    assert len(events) == 2
    first, second = events
    assert first.ts_ms <= second.ts_ms
    assert replace(first, ts_ms=0) == replace(second, ts_ms=0)
    assert first.link_created == second.link_created != ""
    route = 'route="/<code>",status="302"'
    assert _metric(app, f'linkpulse_http_requests_total{{method="GET",{route}}}') == 2
    assert _metric(app, 'linkpulse_redirects_total{result="found"}') == 2
    assert _metric(app, 'linkpulse_click_events_total{result="written"}') == 2


def test_unknown_code_is_left_to_flask_and_counted_once(make_app: MakeApp) -> None:
    app = make_app()
    fast, flask_only = _layers(app)
    status, headers, _ = _get(fast, "/nosuch1")
    assert status.startswith("404")
    assert (status, headers) == _get(flask_only, "/nosuch1")[:2]
    assert _metric(app, 'linkpulse_redirects_total{result="not_found"}') == 2  # one per call


def test_redis_failure_is_answered_by_flask(make_app: MakeApp) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    fast, _ = _layers(app)
    status, headers, _ = _get(fast, "/abcdefg")
    assert status.startswith("503")
    assert ("X-Request-ID", "same-request") in headers
    assert _metric(app, 'linkpulse_click_events_total{result="failed"}') == 1


def test_a_retried_attempt_records_one_click(make_app: MakeApp, redis_url: str) -> None:
    app = make_app()
    code = app.test_client().post("/api/links", json={"url": "https://example.org/b"}).json["code"]  # type: ignore[index]
    fast, _ = _layers(app)
    for _ in range(2):
        status, _, _ = _get(fast, f"/{code}", **{"X-Edge-Request-Id": "attempt-1"})
        assert status == "302 FOUND"
    db = redis.Redis.from_url(redis_url)
    assert db.xlen(contract.CLICK_STREAM) == 1
