"""Redis going away and coming back: 503s while it is gone, recovery without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from linkpulse import contract
from tests.support.redis_server import RedisServer, free_port
from tests.support.web_app import MakeApp

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server this test may stop and start on the same port."""
    server = RedisServer(port=free_port(), data_dir=tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_is_503_and_recovers_by_itself(
    own_redis: RedisServer, make_app: MakeApp
) -> None:
    client = make_app(REDIS_URL=own_redis.url).test_client()
    code = client.post("/api/links", json={"url": "https://example.org"}).get_json()["code"]
    assert client.get(f"/{code}").status_code == 302

    own_redis.stop()
    response = client.post("/api/links", json={"url": "https://example.org"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    assert client.get(f"/api/links/{code}").status_code == 503
    assert client.get(f"/api/links/{code}/stats").status_code == 503
    redirect = client.get(f"/{code}")
    assert redirect.status_code == 503
    assert "Traceback" not in redirect.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["error"]["code"] == "redis_unavailable"
    assert ready.headers["Retry-After"] == "1"
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'linkpulse_click_events_total{result="failed"} 1.0' in metrics

    own_redis.start()  # same port, same data directory (AOF)
    assert client.get("/readyz").status_code == 200
    assert client.get(f"/{code}").status_code == 302
    assert client.post("/api/links", json={"url": "https://example.org"}).status_code == 201


def test_no_redirect_without_its_click_event(redis_url: str, client: FlaskClient) -> None:
    """Redis refusing the XADD (out of memory) fails the whole script: 503, no redirect."""
    code = client.post("/api/links", json={"url": "https://example.org"}).get_json()["code"]
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    db.config_set("maxmemory", "1")
    try:
        response = client.get(f"/{code}")
    finally:
        db.config_set("maxmemory", "0")
    assert response.status_code == 503
    assert db.xlen(contract.CLICK_STREAM) == 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'linkpulse_click_events_total{result="failed"} 1.0' in metrics
    assert 'linkpulse_click_events_total{result="written"} 0.0' in metrics


def test_create_refused_for_memory_changes_nothing(redis_url: str, client: FlaskClient) -> None:
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    db.hset(contract.stats_key("full"), contract.TOTAL_CLICKS_FIELD, 5)
    db.config_set("maxmemory", "1")
    try:
        response = client.post("/api/links", json={"url": "https://example.org", "alias": "full"})
    finally:
        db.config_set("maxmemory", "0")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert not db.exists(contract.link_key("full"))
    assert db.hget(contract.stats_key("full"), contract.TOTAL_CLICKS_FIELD) == "5"
