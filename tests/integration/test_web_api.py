"""Every row of the API table and every error status, through Flask's test client against
a real redis-server. The worker is not running: the write path is checked in the click
stream, the stats read path from aggregate keys written here directly."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import TooManyRequests
from werkzeug.test import TestResponse

from linkpulse import contract
from tests.support.click_data import parse_click_event
from tests.support.web_app import BASE_URL, SALT, MakeApp
from web import codes, use_cases
from web.clicks import visitor_hash
from web.extensions import services
from web.security_headers import SECURITY_HEADERS
from worker.stream_status import parse_id

pytestmark = pytest.mark.integration

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def db(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def _create(client: FlaskClient, **body: object) -> dict[str, object]:
    response = client.post("/api/links", json={"url": "https://example.org/landing", **body})
    assert response.status_code == 201, response.get_json()
    created: dict[str, object] = response.get_json()
    return created


def _error(response: TestResponse, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    detail: dict[str, str] = body["error"]
    return detail


# --- POST /api/links -------------------------------------------------------------------


def test_create_returns_the_documented_fields(client: FlaskClient, db: redis.Redis) -> None:
    response = client.post(
        "/api/links",
        json={"url": "https://Bücher.example/ä?q=1"},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"code", "short_url", "url", "created_at", "expires_at", "manage_token"}
    assert re.fullmatch(r"[A-Za-z0-9]{7}", body["code"])
    assert body["short_url"] == f"{BASE_URL}/{body['code']}"
    assert body["url"] == "https://xn--bcher-kva.example/%C3%A4?q=1"
    assert TIMESTAMP.match(body["created_at"])
    assert body["expires_at"] is None
    stored = db.hgetall(contract.link_key(body["code"]))
    assert stored["url"] == body["url"]
    assert stored["expires_at"] == ""
    assert stored["token_hash"] == hashlib.sha256(body["manage_token"].encode()).hexdigest()
    assert body["manage_token"] not in stored.values()
    assert db.pttl(contract.link_key(body["code"])) == -1


def test_alias_and_expiry(client: FlaskClient, db: redis.Redis) -> None:
    body = _create(client, alias="launch-2026", expires_in=3600)
    assert body["code"] == "launch-2026"
    created = datetime.strptime(str(body["created_at"]), "%Y-%m-%dT%H:%M:%S%z")
    expires = datetime.strptime(str(body["expires_at"]), "%Y-%m-%dT%H:%M:%S%z")
    assert expires - created == timedelta(seconds=3600)
    assert 0 < db.pttl(contract.link_key("launch-2026")) <= 3600 * 1000


def test_taken_alias_is_409_and_keeps_the_first_link(client: FlaskClient) -> None:
    _create(client, alias="taken")
    response = client.post("/api/links", json={"url": "https://other.example", "alias": "taken"})
    assert _error(response, 409, "alias_taken")["field"] == "alias"
    assert client.get("/api/links/taken").get_json()["url"] == "https://example.org/landing"


def test_random_code_clash_is_retried(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _create(client)["code"]
    offered = iter([first, first, "Fresh12"])
    monkeypatch.setattr(codes, "new_code", lambda: next(offered))
    assert _create(client)["code"] == "Fresh12"


def test_reusing_a_freed_alias_starts_with_clean_stats(
    client: FlaskClient, db: redis.Redis
) -> None:
    db.hset(contract.stats_key("reused"), contract.TOTAL_CLICKS_FIELD, 99)
    _create(client, alias="reused")
    assert client.get("/api/links/reused").get_json()["clicks"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org"}, "url"),
        ({"url": "https://user:pw@example.org"}, "url"),
        ({"url": "https://example.org/" + "a" * 2100}, "url"),
        ({"url": 42}, "url"),
        ({}, "url"),
        ({"url": "https://example.org", "alias": "ab"}, "alias"),
        ({"url": "https://example.org", "alias": "api"}, "alias"),
        ({"url": "https://example.org", "alias": "with space"}, "alias"),
        ({"url": "https://example.org", "expires_in": 0}, "expires_in"),
        ({"url": "https://example.org", "expires_in": -5}, "expires_in"),
        ({"url": "https://example.org", "expires_in": 1.5}, "expires_in"),
        ({"url": "https://example.org", "expires_in": "60"}, "expires_in"),
        ({"url": "https://example.org", "expires_in": True}, "expires_in"),
        ({"url": "https://example.org", "expires_in": 10**10}, "expires_in"),
        ({"url": "https://example.org", "extra": 1}, "extra"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(
    client: FlaskClient, body: dict[str, object], field: str
) -> None:
    detail = _error(client.post("/api/links", json=body), 422, "validation_error")
    assert detail["field"] == field
    assert detail["message"].startswith(f"{field}:")


def test_body_that_is_not_an_object_is_422(client: FlaskClient) -> None:
    response = client.post("/api/links", json=["https://example.org"])
    assert _error(response, 422, "validation_error")["field"] == "body"


@pytest.mark.parametrize("raw", ["{", "", "not json", '{"url": "x",}', b"\xff\xfe"])
def test_malformed_json_is_400(client: FlaskClient, raw: str | bytes) -> None:
    response = client.post("/api/links", data=raw, content_type="application/json")
    _error(response, 400, "malformed_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_content_type_is_415(client: FlaskClient, content_type: str | None) -> None:
    response = client.post(
        "/api/links", data='{"url": "https://example.org"}', content_type=content_type
    )
    _error(response, 415, "unsupported_media_type")


def test_body_over_16_kib_is_413(client: FlaskClient) -> None:
    response = client.post(
        "/api/links",
        data='{"url": "https://example.org/", "pad": "' + "x" * 17_000 + '"}',
        content_type="application/json",
    )
    _error(response, 413, "payload_too_large")


# --- GET /{code} ---------------------------------------------------------------------------


def test_redirect_is_302_and_appends_one_click_event(client: FlaskClient, db: redis.Redis) -> None:
    code = str(_create(client)["code"])
    user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    response = client.get(
        f"/{code}",
        headers={
            "Referer": "https://News.Example.com/story",
            "User-Agent": user_agent,
            "X-Request-ID": "trace-abc.123",
            "X-Forwarded-For": "198.51.100.23",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.org/landing"
    assert response.headers["Cache-Control"] == "no-store"
    entries = db.xrange(contract.CLICK_STREAM)
    assert len(entries) == 1
    event = parse_click_event(entries[0][1])
    assert event.code == code
    assert event.referrer_host == "news.example.com"
    assert event.ua_class == "mobile"
    assert event.request_id == "trace-abc.123"
    assert event.link_created == db.hget(contract.link_key(code), "created_at")
    # The test client's peer is 127.0.0.1, a trusted proxy, so the forwarded address counts.
    assert event.visitor_hash == visitor_hash(SALT, "198.51.100.23", user_agent)
    assert "198.51.100.23" not in str(entries)
    assert abs(event.ts_ms - parse_id(entries[0][0])[0]) < 5_000


def test_untrusted_peer_cannot_choose_its_visitor_identity(
    client: FlaskClient, db: redis.Redis
) -> None:
    code = str(_create(client)["code"])
    client.get(
        f"/{code}",
        headers={"X-Forwarded-For": "198.51.100.23", "User-Agent": "UA"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    event = parse_click_event(db.xrange(contract.CLICK_STREAM)[0][1])
    assert event.visitor_hash == visitor_hash(SALT, "203.0.113.9", "UA")


def test_a_retried_redirect_attempt_records_one_click(client: FlaskClient, db: redis.Redis) -> None:
    """nginx retries a request web read but never answered with the same edge id."""
    code = str(_create(client)["code"])
    attempt = {"X-Edge-Request-Id": "5f0c6a1e2b3d4c5e6f708192a3b4c5d6"}
    first = client.get(f"/{code}", headers=attempt)
    retry = client.get(f"/{code}", headers=attempt)
    another_visit = client.get(f"/{code}", headers={"X-Edge-Request-Id": "another-attempt"})
    assert [first.status_code, retry.status_code, another_visit.status_code] == [302] * 3
    assert retry.headers["Location"] == first.headers["Location"]
    assert db.xlen(contract.CLICK_STREAM) == 2
    assert (
        0
        < db.pttl(contract.redirect_attempt_key("another-attempt"))
        <= (contract.REDIRECT_ATTEMPT_TTL_MS)
    )


def test_a_resent_script_call_records_one_click(app: Flask, db: redis.Redis) -> None:
    """redis-py resends a command after a timeout; the same attempt must not count twice."""
    client = app.test_client()
    code = str(_create(client)["code"])
    with app.app_context():
        store = services().store
        # Now: a resend runs well within the attempt's deadline.
        event = contract.ClickEvent(code, use_cases.now_ms(), "", "other", "0" * 32, "req")
        results = [store.resolve_and_record(event, "one-attempt") for _ in range(3)]
    assert results == ["https://example.org/landing"] * 3
    assert db.xlen(contract.CLICK_STREAM) == 1


def test_without_an_edge_id_every_visit_is_a_click(client: FlaskClient, db: redis.Redis) -> None:
    code = str(_create(client)["code"])
    for _ in range(3):
        assert client.get(f"/{code}").status_code == 302
    assert db.xlen(contract.CLICK_STREAM) == 3


def test_an_untrusted_peer_cannot_name_the_attempt_to_hide_clicks(
    client: FlaskClient, db: redis.Redis
) -> None:
    code = str(_create(client)["code"])
    for _ in range(3):
        client.get(
            f"/{code}",
            headers={"X-Edge-Request-Id": "replayed"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
    assert db.xlen(contract.CLICK_STREAM) == 3


def test_direct_visit_has_empty_referrer(client: FlaskClient, db: redis.Redis) -> None:
    code = str(_create(client)["code"])
    client.get(f"/{code}", headers={"User-Agent": "curl/8.5"})
    event = parse_click_event(db.xrange(contract.CLICK_STREAM)[0][1])
    assert event.referrer_host == ""
    assert event.ua_class == "bot"


def test_stream_is_capped_approximately(app: Flask, client: FlaskClient, db: redis.Redis) -> None:
    # The cap is a safety valve: with MAXLEN ~ Redis trims whole nodes, never below the cap.
    code = str(_create(client)["code"])
    app.extensions["linkpulse"].store.click_stream_maxlen = 1000
    for _ in range(1200):
        db.xadd(contract.CLICK_STREAM, {"filler": "1"})
    client.get(f"/{code}")
    assert 1000 <= db.xlen(contract.CLICK_STREAM) < 1201


@pytest.mark.parametrize("code", ["nosuchcode", "ab", "has.dot", "x" * 40])
def test_unknown_code_is_a_404_page_and_records_nothing(
    client: FlaskClient, db: redis.Redis, code: str
) -> None:
    response = client.get(f"/{code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "not found" in response.get_data(as_text=True).lower()
    assert db.xlen(contract.CLICK_STREAM) == 0


def test_expired_link_is_404_everywhere(
    client: FlaskClient, db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = str(_create(client, expires_in=60)["code"])
    later = use_cases.now_ms() + 61_000
    monkeypatch.setattr(use_cases, "now_ms", lambda: later)
    # The key still exists in Redis (its own expiry is a minute away): our checks decide.
    assert db.exists(contract.link_key(code))
    assert client.get(f"/{code}").status_code == 404
    _error(client.get(f"/api/links/{code}"), 404, "not_found")
    _error(client.get(f"/api/links/{code}/stats"), 404, "not_found")
    assert client.get(f"/s/{code}").status_code == 404
    assert db.xlen(contract.CLICK_STREAM) == 0


# --- GET /api/links/{code} and /stats ------------------------------------------------------


def test_read_link_never_shows_the_token(client: FlaskClient, db: redis.Redis) -> None:
    created = _create(client, alias="readme", expires_in=120)
    db.hset(contract.stats_key("readme"), contract.TOTAL_CLICKS_FIELD, 7)
    response = client.get("/api/links/readme")
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "code": "readme",
        "short_url": f"{BASE_URL}/readme",
        "url": "https://example.org/landing",
        "created_at": created["created_at"],
        "expires_at": created["expires_at"],
        "clicks": 7,
    }
    assert str(created["manage_token"]) not in response.get_data(as_text=True)


def test_read_unknown_link_is_404(client: FlaskClient) -> None:
    _error(client.get("/api/links/nosuch"), 404, "not_found")
    _error(client.get("/api/links/nosuch/stats"), 404, "not_found")


def test_stats_read_path_from_aggregate_keys(client: FlaskClient, db: redis.Redis) -> None:
    _create(client, alias="popular")
    today = datetime.now(UTC).date()
    day = lambda offset: (today - timedelta(days=offset)).isoformat()  # noqa: E731
    db.hset(
        contract.stats_key("popular"),
        mapping={
            contract.TOTAL_CLICKS_FIELD: 12,
            contract.day_field(day(0)): 5,
            contract.day_field(day(2)): 4,
            contract.day_field(day(29)): 1,
            contract.day_field(day(30)): 2,  # outside the window
        },
    )
    db.zadd(contract.referrers_key("popular"), {"": 6, "news.example.com": 4, "t.co": 2})
    db.pfadd(contract.visitors_key("popular"), *[f"visitor-{n}" for n in range(9)])

    body = client.get("/api/links/popular/stats").get_json()
    assert set(body) == {"code", "clicks", "unique_visitors", "daily", "referrers"}
    assert body["code"] == "popular"
    assert body["clicks"] == 12
    assert body["unique_visitors"] == 9
    daily = body["daily"]
    assert len(daily) == 30
    assert [entry["date"] for entry in daily] == [day(offset) for offset in range(29, -1, -1)]
    assert daily[-1] == {"date": day(0), "clicks": 5}
    assert daily[-3] == {"date": day(2), "clicks": 4}
    assert daily[0] == {"date": day(29), "clicks": 1}
    assert sum(entry["clicks"] for entry in daily) == 10
    assert body["referrers"] == [
        {"referrer": "", "clicks": 6},
        {"referrer": "news.example.com", "clicks": 4},
        {"referrer": "t.co", "clicks": 2},
    ]


def test_stats_of_a_new_link_are_zeros(client: FlaskClient) -> None:
    _create(client, alias="fresh")
    body = client.get("/api/links/fresh/stats").get_json()
    assert (body["clicks"], body["unique_visitors"], body["referrers"]) == (0, 0, [])
    assert {entry["clicks"] for entry in body["daily"]} == {0}


# --- DELETE /api/links/{code} --------------------------------------------------------------


def test_delete_with_the_manage_token_removes_every_key(
    client: FlaskClient, db: redis.Redis
) -> None:
    token = _create(client, alias="gone")["manage_token"]
    db.hset(contract.stats_key("gone"), contract.TOTAL_CLICKS_FIELD, 1)
    db.zadd(contract.referrers_key("gone"), {"": 1})
    db.pfadd(contract.visitors_key("gone"), "v")
    response = client.delete("/api/links/gone", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert db.exists(*contract.link_keys("gone")) == 0
    assert client.get("/gone").status_code == 404
    _error(client.get("/api/links/gone"), 404, "not_found")


@pytest.mark.parametrize("header", [None, "", "Basic Z286cGFzcw==", "Bearer"])
def test_delete_without_a_bearer_token_is_401(
    client: FlaskClient, db: redis.Redis, header: str | None
) -> None:
    _create(client, alias="keepme")
    headers = {} if header is None else {"Authorization": header}
    response = client.delete("/api/links/keepme", headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert db.exists(contract.link_key("keepme"))


def test_delete_with_a_wrong_token_is_403(client: FlaskClient, db: redis.Redis) -> None:
    _create(client, alias="keepme")
    other_token = _create(client)["manage_token"]
    response = client.delete(
        "/api/links/keepme", headers={"Authorization": f"Bearer {other_token}"}
    )
    _error(response, 403, "forbidden")
    assert db.exists(contract.link_key("keepme"))


def test_delete_unknown_code_is_404(client: FlaskClient) -> None:
    response = client.delete("/api/links/nosuch", headers={"Authorization": "Bearer whatever"})
    _error(response, 404, "not_found")


# --- routing errors, ops, cross-cutting ----------------------------------------------------


def test_unknown_api_route_is_json_404(client: FlaskClient) -> None:
    _error(client.get("/api/nothing/here"), 404, "not_found")
    _error(client.post("/api/links/abc/extra"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.put("/api/links", json={})
    _error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    _error(client.post("/api/links/abc"), 405, "method_not_allowed")


def test_429_handler_answers_in_the_error_shape(app: Flask) -> None:
    @app.get("/api/test-rate-limited")
    def limited() -> None:
        raise TooManyRequests()

    _error(app.test_client().get("/api/test-rate-limited"), 429, "rate_limited")


def test_unexpected_errors_are_500_without_a_traceback(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/api/test-broken")
    def broken_api() -> None:
        raise RuntimeError("secret internals")

    @app.get("/test-broken-page")
    def broken_page() -> None:
        raise RuntimeError("secret internals")

    client = app.test_client()
    detail = _error(client.get("/api/test-broken"), 500, "internal_error")
    assert "secret" not in detail["message"]
    page = client.get("/test-broken-page")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "secret" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    assert any(record.exc_info for record in caplog.records)


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\x7f"}).headers[
        "X-Request-ID"
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert client.get("/api/nothing").headers["X-Request-ID"]


def test_one_access_log_line_per_request(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="web.access")
    client.get("/api/links/nosuch", headers={"X-Request-ID": "log-me"})
    lines = [record for record in caplog.records if record.name == "web.access"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["request_id"] == "log-me"
    assert line["route"] == "/api/links/<code>"
    assert line["status"] == 404
    assert line["method"] == "GET"
    assert line["duration_ms"] >= 0


def test_sampled_access_log_keeps_every_failure(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(WEB_ACCESS_LOG_SAMPLE=0).test_client()
    caplog.set_level(logging.INFO, logger="web.access")
    code = _create(client, url="https://example.org/sampled")["code"]
    assert client.get(f"/{code}").status_code == 302
    assert client.get("/api/links/nosuch").status_code == 404
    lines = [record.__dict__ for record in caplog.records if record.name == "web.access"]
    assert [(line["route"], line["status"]) for line in lines] == [("/api/links/<code>", 404)]


def test_metrics_count_by_route_template(client: FlaskClient) -> None:
    code = str(_create(client)["code"])
    client.get(f"/{code}")
    client.get("/nosuchcode")
    client.get("/api/no/such/route")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'linkpulse_http_requests_total{method="POST",route="/api/links",status="201"} 1.0' in text
    )
    assert 'linkpulse_http_requests_total{method="GET",route="/<code>",status="302"} 1.0' in text
    assert 'linkpulse_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "linkpulse_links_created_total 1.0" in text
    assert 'linkpulse_redirects_total{result="found"} 1.0' in text
    assert 'linkpulse_redirects_total{result="not_found"} 1.0' in text
    assert 'linkpulse_click_events_total{result="written"} 1.0' in text
    assert 'linkpulse_build_info{revision="unknown",version="dev"} 1.0' in text
    assert "linkpulse_http_request_duration_seconds_bucket" in text


@pytest.mark.parametrize("path", ["/", "/s/nosuchcode", "/static/style.css", "/api/links/x1"])
def test_every_response_carries_the_security_headers_once(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.getlist(name) == [value], name


def test_bare_api_path_is_a_json_404_not_a_link_lookup(client: FlaskClient) -> None:
    _error(client.get("/api"), 404, "not_found")


def test_head_answers_like_get_but_records_no_click(client: FlaskClient, db: redis.Redis) -> None:
    code = str(_create(client)["code"])
    response = client.head(f"/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.org/landing"
    assert client.head("/nosuchcode").status_code == 404
    assert db.xlen(contract.CLICK_STREAM) == 0


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE_URL}/abcdefg",
        "https://SHO.RT/x",
        "http://sho.rt/s/abc",
        "https://sho.rt:443/x",
        "https://sho.rt./",
    ],
)
def test_links_to_the_shortener_itself_are_refused(client: FlaskClient, target: str) -> None:
    """Review finding 4: a short link to a short link loops or hides the destination."""
    body = _error(client.post("/api/links", json={"url": target}), 422, "validation_error")
    assert body["field"] == "url"
    assert "shortener" in body["message"]


@pytest.mark.parametrize("target", ["https://docs.sho.rt/guide", "https://sho.rt:3000/grafana"])
def test_another_host_or_port_is_another_service(client: FlaskClient, target: str) -> None:
    _create(client, url=target)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/s//abcdefg", f"{BASE_URL}/s/abcdefg"),
        ("/api/links//abcdefg", f"{BASE_URL}/api/links/abcdefg"),
    ],
)
def test_redirects_of_the_router_never_use_the_clients_host(
    client: FlaskClient, path: str, location: str
) -> None:
    """Review finding 7: werkzeug built this Location from the Host header."""
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == location


def test_requests_under_any_host_name_are_still_served(client: FlaskClient) -> None:
    """Prometheus scrapes web:8000 and the health check asks localhost: no host is refused."""
    for host in ("web:8000", "localhost:8000", "evil.example"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200
