"""The nginx edge config, checked by `nginx -t` and exercised live in front of a stub upstream."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.config.nginx_instance import NginxInstance
from tests.config.stub_upstream import StubUpstream
from tests.config.tools import NGINX_DIR, REPO_ROOT
from tests.support.redis_server import free_port
from web.request_id import is_valid_request_id
from web.security_headers import SECURITY_HEADERS

GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def _started(workdir: Path, upstream_port: int) -> NginxInstance:
    instance = NginxInstance(workdir=workdir, upstream_port=upstream_port)
    instance.render()
    instance.start()
    return instance


@pytest.fixture(scope="module")
def edge(
    tmp_path_factory: pytest.TempPathFactory, upstream: StubUpstream
) -> Iterator[NginxInstance]:
    instance = _started(tmp_path_factory.mktemp("nginx"), upstream.port)
    yield instance
    instance.stop()


@pytest.fixture
def fresh_edge(tmp_path: Path, upstream: StubUpstream) -> Iterator[NginxInstance]:
    """Its own nginx, so rate-limit state from other tests cannot leak in."""
    instance = _started(tmp_path / "nginx", upstream.port)
    yield instance
    instance.stop()


def _error_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


def _assert_security_headers(response: requests.Response) -> None:
    """web's security headers (web/security_headers.py), each exactly once, whether web or
    nginx itself answered."""
    for name, value in SECURITY_HEADERS.items():
        assert response.raw.headers.getlist(name) == [value], name
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version


def test_nginx_t_accepts_the_config(tmp_path: Path) -> None:
    instance = NginxInstance(workdir=tmp_path / "nginx", upstream_port=free_port())
    instance.render()
    result = instance.check()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_real_config_keeps_the_stack_interface() -> None:
    """The names the compose stack depends on, which the live tests rewrite."""
    main = (NGINX_DIR / "nginx.conf").read_text()
    assert "pid /tmp/nginx.pid;" in main
    assert "include conf.d/*.conf;" in main
    assert re.search(r"^\s*user\s", main, re.MULTILINE) is None  # runs as the image's user
    http_level = (NGINX_DIR / "conf.d" / "linkpulse-http.conf").read_text()
    # The deploy tool renders its own upstream.d/web.conf from this server line (deploy/plan.py).
    assert "include upstream.d/web.conf;" in http_level
    servers = (NGINX_DIR / "upstream.d" / "web.conf").read_text()
    assert re.search(r"^server web:8000 .*;$", servers, re.MULTILINE)
    assert re.search(r"^\s*keepalive \d+;", http_level, re.MULTILINE)
    assert "listen 8080 " in (NGINX_DIR / "conf.d" / "default.conf").read_text()
    assert "listen 8081;" in (NGINX_DIR / "conf.d" / "status.conf").read_text()


def test_nginx_closes_idle_upstream_connections_before_gunicorn() -> None:
    """Otherwise a request can race gunicorn closing the connection, and a POST gets a 502."""
    gunicorn_conf = (REPO_ROOT / "web" / "gunicorn_conf.py").read_text()
    gunicorn_keepalive = re.search(r"^keepalive = (\d+)$", gunicorn_conf, re.MULTILINE)
    assert gunicorn_keepalive is not None
    http_level = (NGINX_DIR / "conf.d" / "linkpulse-http.conf").read_text()
    nginx_idle = re.search(r"^\s*keepalive_timeout (\d+)s;", http_level, re.MULTILINE)
    assert nginx_idle is not None
    assert int(nginx_idle.group(1)) < int(gunicorn_keepalive.group(1))


def test_proxied_response_carries_security_headers_once(edge: NginxInstance) -> None:
    response = requests.get(f"{edge.base_url}/abc123", timeout=5)
    assert response.status_code == 200
    assert response.json()["path"] == "/abc123"
    _assert_security_headers(response)
    assert response.raw.headers.getlist("X-Request-ID") != ["set-by-upstream"]


@pytest.mark.parametrize(
    "path",
    [
        "/metrics",
        "/metrics/",
        "/metrics?format=text",
        "//metrics",
        "/METRICS",
        "/%6Detrics",
        "/metrics/x",
    ],
)
def test_metrics_are_not_reachable(edge: NginxInstance, path: str) -> None:
    response = requests.get(f"{edge.base_url}{path}", timeout=5)
    assert response.status_code == 404
    assert _error_code(response) == "not_found"
    _assert_security_headers(response)


def test_a_code_that_merely_starts_with_metrics_is_proxied(edge: NginxInstance) -> None:
    response = requests.get(f"{edge.base_url}/metricsfan", timeout=5)
    assert response.status_code == 200
    assert response.json()["path"] == "/metricsfan"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/s/abc123", "/api/links/abc123", "/"])
def test_app_paths_are_proxied(edge: NginxInstance, path: str) -> None:
    response = requests.get(f"{edge.base_url}{path}", timeout=5)
    assert response.status_code == 200
    assert response.json()["path"] == path


def test_nginx_health_answers_without_the_upstream(edge: NginxInstance) -> None:
    response = requests.get(f"{edge.base_url}/nginx-health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_oversized_body_gets_413_envelope(edge: NginxInstance) -> None:
    response = requests.post(
        f"{edge.base_url}/api/links",
        data=json.dumps({"url": "https://example.com/" + "a" * 17_000}),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 413
    assert _error_code(response) == "payload_too_large"
    _assert_security_headers(response)


def test_body_within_limit_reaches_web(edge: NginxInstance) -> None:
    body = json.dumps({"url": "https://example.com/" + "a" * 2048})
    response = requests.post(f"{edge.base_url}/api/links", data=body, timeout=5)
    assert response.status_code == 200
    assert response.json()["body_bytes"] == len(body)


def test_link_creation_is_rate_limited_with_429_envelope(fresh_edge: NginxInstance) -> None:
    url = f"{fresh_edge.base_url}/api/links"
    with requests.Session() as session:
        first = session.post(url, data="{}", timeout=5)
        # However slow this machine is, posting faster than 20/s exhausts the burst of 100.
        limited = None
        for _ in range(2_000):
            response = session.post(url, data="{}", timeout=5)
            if response.status_code == 429:
                limited = response
                break
        # Reads are not charged to the write budget that is now spent.
        read = session.get(f"{fresh_edge.base_url}/api/links/abc123", timeout=5)
    assert first.status_code == 200
    assert limited is not None, "2,000 creations in a row were never rate limited"
    assert _error_code(limited) == "rate_limited"
    assert limited.headers["Retry-After"] == "1"
    _assert_security_headers(limited)
    assert read.status_code == 200


def test_the_html_form_spends_the_write_budget_too(tmp_path: Path, upstream: StubUpstream) -> None:
    """Review finding 2: POST / creates links, and used to get the pages zone's burst of 600
    (400 concurrent form posts all passed). A write budget that refills once a minute makes
    the count exact however fast this machine is."""
    limits = {"RATE_LIMIT_WRITE": "1r/m", "RATE_LIMIT_WRITE_BURST": "20"}
    instance = NginxInstance(tmp_path / "nginx", upstream.port, limits=limits)
    instance.render()
    instance.start()
    try:
        url = f"{instance.base_url}/"
        with requests.Session() as session:
            forms = [session.post(url, data={"url": "x"}, timeout=5).status_code for _ in range(40)]
            page_view = session.get(url, timeout=5).status_code
            api_write = session.post(f"{instance.base_url}/api/links", data="{}", timeout=5)
    finally:
        instance.stop()
    passed = forms.count(200)
    assert forms == [200] * passed + [429] * (40 - passed)
    assert 20 <= passed <= 21  # the burst (plus the one request the rate itself allows)
    assert page_view == 200  # showing the form costs no write budget
    assert api_write.status_code == 429  # the form and the API share one budget
    assert _error_code(api_write) == "rate_limited"


def test_redirects_allow_a_larger_burst_than_link_creation(fresh_edge: NginxInstance) -> None:
    with requests.Session() as session:
        redirects = [
            session.get(f"{fresh_edge.base_url}/abc123", timeout=5).status_code for _ in range(300)
        ]
        creations = []
        while len(creations) < 2_000 and 429 not in creations:
            response = session.post(f"{fresh_edge.base_url}/api/links", data="{}", timeout=5)
            creations.append(response.status_code)
    assert redirects == [200] * 300
    assert 429 in creations
    assert len(creations) < 300


def test_reads_and_writes_have_separate_budgets(fresh_edge: NginxInstance) -> None:
    """Polling stats must not use up the budget for creating links, nor the other way round."""
    with requests.Session() as session:
        reads = [
            session.get(f"{fresh_edge.base_url}/api/links/abc123/stats", timeout=5).status_code
            for _ in range(150)
        ]
        writes = [
            session.post(f"{fresh_edge.base_url}/api/links", data="{}", timeout=5).status_code
            for _ in range(60)
        ]
    assert reads == [200] * 150
    assert writes == [200] * 60


def test_web_own_429_keeps_its_retry_after_alone(edge: NginxInstance) -> None:
    """web's creation quota answers 429 with the seconds left in the hour: one value only."""
    response = requests.post(
        f"{edge.base_url}/api/links",
        data="{}",
        headers={"X-Stub-Status": "429", "X-Stub-Retry-After": "1800"},
        timeout=5,
    )
    assert response.status_code == 429
    assert response.raw.headers.getlist("Retry-After") == ["1800"]


def test_successful_response_has_no_retry_after(edge: NginxInstance) -> None:
    response = requests.get(f"{edge.base_url}/abc123", timeout=5)
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("request_id", ["client-trace-0001", "a", "svc/req:42@host=+.", "x" * 128])
def test_valid_client_request_id_is_passed_through(edge: NginxInstance, request_id: str) -> None:
    assert is_valid_request_id(request_id)  # nginx and web agree on what an id is
    response = requests.get(
        f"{edge.base_url}/abc123", headers={"X-Request-ID": request_id}, timeout=5
    )
    assert response.json()["headers"]["X-Request-ID"] == request_id
    assert response.raw.headers.getlist("X-Request-ID") == [request_id]


@pytest.mark.parametrize(
    "sent", [None, "", "has spaces in it", "x" * 129, '"quote"-injection', "new\\nline", "ü-umlaut"]
)
def test_missing_or_invalid_request_id_is_replaced(edge: NginxInstance, sent: str | None) -> None:
    assert sent is None or not is_valid_request_id(sent)  # nginx and web agree
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = requests.get(f"{edge.base_url}/abc123", headers=headers, timeout=5)
    forwarded = response.json()["headers"]["X-Request-ID"]
    assert GENERATED_REQUEST_ID.match(forwarded)
    assert response.headers["X-Request-ID"] == forwarded


def test_edge_request_id_is_nginx_own_and_never_the_client_one(edge: NginxInstance) -> None:
    """web dedups a retried redirect by this id, so a client must not be able to choose it."""
    sent = "client-chosen-attempt"
    first = requests.get(
        f"{edge.base_url}/abc123", headers={"X-Edge-Request-Id": sent}, timeout=5
    ).json()["headers"]
    second = requests.get(f"{edge.base_url}/abc123", timeout=5).json()["headers"]
    assert GENERATED_REQUEST_ID.match(first["X-Edge-Request-Id"])
    assert first["X-Edge-Request-Id"] != sent
    assert first["X-Edge-Request-Id"] != second["X-Edge-Request-Id"]


def _access_log_entries(edge: NginxInstance, request_id: str) -> list[dict[str, object]]:
    """The log line is written after the response is sent, so wait for it to appear."""
    deadline = time.monotonic() + 10
    while True:
        lines = edge.access_log.read_text().splitlines()
        entries = [json.loads(line) for line in lines if line]
        matching = [entry for entry in entries if entry["request_id"] == request_id]
        if matching or time.monotonic() > deadline:
            return matching
        time.sleep(0.05)


def test_request_id_is_in_the_json_access_log(edge: NginxInstance) -> None:
    request_id = "access-log-probe-42"
    requests.get(f"{edge.base_url}/probe", headers={"X-Request-ID": request_id}, timeout=5)
    (entry,) = _access_log_entries(edge, request_id)
    assert entry["uri"] == "/probe"
    assert entry["status"] == 200
    assert entry["upstream_status"] == "200"


def test_forwarded_headers_cannot_be_spoofed(edge: NginxInstance) -> None:
    response = requests.get(
        f"{edge.base_url}/abc123",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"},
        timeout=5,
    )
    received = response.json()["headers"]
    assert received["X-Forwarded-For"] == "127.0.0.1"
    assert received["X-Real-IP"] == "127.0.0.1"
    assert received["X-Forwarded-Proto"] == "http"


def test_upstream_connections_are_kept_alive(edge: NginxInstance) -> None:
    with requests.Session() as session:
        answers = [session.get(f"{edge.base_url}/ka", timeout=5).json() for _ in range(20)]
    connection_ids = {answer["connection_id"] for answer in answers}
    # One client connection is served by one nginx worker, which reuses its idle upstream
    # connection; without keepalive every request would arrive on a new one. (Two allows for
    # one idle timeout on a machine stalled for seconds.)
    assert len(connection_ids) <= 2
    assert all(answer["headers"].get("Connection") is None for answer in answers)


def test_unreachable_upstream_gets_502_envelope(tmp_path: Path) -> None:
    instance = _started(tmp_path / "nginx", upstream_port=free_port())
    try:
        response = requests.get(f"{instance.base_url}/api/links/abc123", timeout=10)
    finally:
        instance.stop()
    assert response.status_code == 502
    assert _error_code(response) == "bad_gateway"
    _assert_security_headers(response)


def test_stub_status_is_served_on_the_internal_port_only(edge: NginxInstance) -> None:
    status = requests.get(f"{edge.status_url}/stub_status", timeout=5)
    assert status.status_code == 200
    assert status.text.startswith("Active connections:")
    assert requests.get(f"{edge.status_url}/other", timeout=5).status_code == 404
    public = requests.get(f"{edge.base_url}/stub_status", timeout=5)
    assert public.json()["path"] == "/stub_status"  # on :8080 it is just a code for web
