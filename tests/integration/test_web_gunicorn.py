"""The real server: gunicorn with web/gunicorn_conf.py, two workers, a real redis-server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from linkpulse import contract
from tests.support.click_data import parse_click_event
from tests.support.processes import stop_process
from tests.support.redis_server import free_port
from web.clicks import visitor_hash

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SALT = "gunicorn-test-salt-0123"


def _env(redis_url: str, port: int, metrics_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PROMETHEUS_MULTIPROC_DIR", "WEB_CONCURRENCY"}
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        REDIS_URL=redis_url,
        PUBLIC_BASE_URL="https://sho.rt",
        VISITOR_HASH_SALT=SALT,
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_LEVEL="INFO",
        GIT_REVISION="abc1234",
        APP_VERSION="1.2.3",
        CLICK_STREAM_MAXLEN="54321",
    )
    env.update(overrides)
    return env


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()


@pytest.fixture
def server(redis_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log_path = tmp_path / "stderr.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [GUNICORN, "-c", "web/gunicorn_conf.py", "web:create_app()"],
            cwd=REPO_ROOT,
            env=_env(redis_url, port, tmp_path / "metrics"),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(running)
        yield running
    finally:
        stop_process(process, timeout=25)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited early:\n{server.log_path.read_text()}")
        try:
            if requests.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not become ready:\n{server.log_path.read_text()}")


def _metric(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"{sample} not in metrics"
    return float(match.group(1))


def test_create_redirect_and_metrics_across_workers(server: Server, redis_url: str) -> None:
    created = requests.post(
        f"{server.base_url}/api/links", json={"url": "https://example.org/x"}, timeout=5
    )
    assert created.status_code == 201
    code = created.json()["code"]
    assert created.json()["short_url"] == f"https://sho.rt/{code}"

    redirects = 200

    def follow(_: int) -> int:
        with requests.Session() as session:
            response = session.get(
                f"{server.base_url}/{code}",
                allow_redirects=False,
                headers={"User-Agent": "UA", "X-Forwarded-For": "198.51.100.4"},
                timeout=5,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(follow, range(redirects)))
    assert statuses == [302] * redirects

    db = redis.Redis.from_url(redis_url, decode_responses=True)
    events = db.xrange(contract.CLICK_STREAM)
    assert len(events) == redirects
    expected_visitor = visitor_hash(SALT, "198.51.100.4", "UA")
    assert {parse_click_event(fields).visitor_hash for _, fields in events} == {expected_visitor}

    access = [json.loads(line) for line in server.log_lines() if '"web.access"' in line]
    redirect_pids = {line["pid"] for line in access if line["route"] == "/<code>"}
    assert len(redirect_pids) == 2, "both workers should have served redirects"

    # Whichever worker answers the scrape, it reports the whole server's counts.
    for _ in range(4):
        text = requests.get(f"{server.base_url}/metrics", timeout=5).text
        sample = 'linkpulse_http_requests_total{method="GET",route="/<code>",status="302"}'
        assert _metric(text, sample) == redirects
        assert _metric(text, 'linkpulse_redirects_total{result="found"}') == redirects
        assert _metric(text, 'linkpulse_click_events_total{result="written"}') == redirects
        assert _metric(text, "linkpulse_links_created_total") == 1
        assert _metric(text, 'linkpulse_build_info{revision="abc1234",version="1.2.3"}') == 1
        # The cap ClickStreamNearCap divides by, from web: it is there when no worker runs.
        assert _metric(text, "linkpulse_click_stream_maxlen") == 54321
        assert (
            _metric(
                text,
                'linkpulse_http_request_duration_seconds_count{method="GET",'
                'route="/<code>",status="302"}',
            )
            == redirects
        )


def test_logs_are_json_lines(server: Server) -> None:
    requests.get(f"{server.base_url}/healthz", headers={"X-Request-ID": "json-log"}, timeout=5)
    server.process.terminate()
    server.process.wait(timeout=25)
    lines = [line for line in server.log_lines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line, gunicorn's own included
    assert any(entry["logger"] == "gunicorn.error" for entry in parsed)
    access = [entry for entry in parsed if entry.get("request_id") == "json-log"]
    assert len(access) == 1
    assert access[0]["route"] == "/healthz"
    assert access[0]["status"] == 200


@pytest.mark.parametrize(
    ("remove", "override", "variable"),
    [
        ("REDIS_URL", {}, "REDIS_URL"),
        (None, {"VISITOR_HASH_SALT": "short"}, "VISITOR_HASH_SALT"),
        (None, {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        (None, {"GUNICORN_WORKER_CLASS": "eventlet"}, "GUNICORN_WORKER_CLASS"),
    ],
)
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, remove: str | None, override: dict[str, str], variable: str
) -> None:
    env = _env("redis://127.0.0.1:1/0", free_port(), tmp_path / "metrics", **override)
    if remove:
        del env[remove]
    completed = subprocess.run(
        [GUNICORN, "-c", "web/gunicorn_conf.py", "web:create_app()"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    output = (completed.stdout + completed.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert variable in output[0]
    assert output[0].startswith("web: configuration error:")


def _raw_exchange(base_url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes no HTTP client would, return (status, headers, body) of the answer."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /api/links/\xc3\xa9t\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/links/abc HTTP/1.1\r\nHost: x\r\nX-Odd: a\x01b\r\n\r\n",
        b"GET /api/links/abc HTTP/1.1\r\nHost: x\r\nBad Name: b\r\n\r\n",
    ],
)
def test_requests_gunicorn_refuses_get_the_json_envelope(server: Server, raw: bytes) -> None:
    """Review finding 10: gunicorn's own answers were HTML pages."""
    status, headers, body = _raw_exchange(server.base_url, raw)
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request"
    assert error["message"]
