"""The deploy tool's smoke checks against the real web app and a real redis-server, served on
loopback (an nginx stand-in answers only /nginx-health): they leave no link behind, and a
storage incident (507 on create) skips the create check instead of failing the deploy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from deploy.smoke import smoke
from tests.integration.test_storage_policy import fill_to_percent
from tests.support.redis_server import RedisServer
from tests.support.web_app import MakeApp

pytestmark = pytest.mark.integration

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _with_nginx_health(app: Flask) -> WsgiApp:
    def edge(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/nginx-health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return app.wsgi_app(environ, start_response)

    return edge


@pytest.fixture
def public() -> Iterator[Callable[[Flask], str]]:
    """Serves an app on loopback, as the public URL the smoke checks are given."""
    servers: list[BaseWSGIServer] = []

    def serve(app: Flask) -> str:
        servers.append(make_server("127.0.0.1", 0, _with_nginx_health(app), threaded=True))
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{servers[-1].server_port}"

    yield serve
    for server in servers:
        server.shutdown()


def test_smoke_deletes_its_link_with_its_manage_token(
    make_app: MakeApp, redis_url: str, public: Callable[[Flask], str]
) -> None:
    lines = smoke(public(make_app()))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert list(client.scan_iter("*smoke-*")) == []
    assert lines[2].startswith("create + follow + delete a link (smoke-")


def test_a_storage_incident_skips_the_create_check_and_says_so(
    make_app: MakeApp, own_redis: RedisServer, public: Callable[[Flask], str]
) -> None:
    admin = redis.Redis.from_url(own_redis.url, decode_responses=True)
    app = make_app(REDIS_URL=own_redis.url, CREATE_MEMORY_LIMIT_PERCENT="80")
    # The scripts and the stream exist first, as on a stack that has served (Redis counts them).
    first = app.test_client().post("/api/links", json={"url": "https://example.org/a"})
    assert first.status_code == 201
    try:
        fill_to_percent(admin, 88)
        lines = smoke(public(app))
    finally:
        admin.config_set("maxmemory", 0)
    assert lines[:2] == ["nginx answers", "web ready (Redis reachable)"]
    assert lines[2].startswith("create check SKIPPED: POST /api/links answered 507")
