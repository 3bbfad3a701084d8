"""The real nginx config in front of the real web app on gunicorn (and a real Redis).

What only the pair shows: which of the two answers an oversized request, and that every answer
under /api is then the JSON envelope (review finding 10); and that web's security headers reach
the client unchanged, with nginx's own responses carrying the same values (finding 6).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.config.nginx_instance import NginxInstance
from tests.support.live_app import running_web
from tests.support.redis_server import RedisServer, free_port
from web.security_headers import SECURITY_HEADERS

# Around the limits: gunicorn's old 4094-byte request line, nginx's 8 KiB buffers.
URI_LENGTHS = (4_000, 4_095, 5_000, 8_000, *range(8_170, 8_200), 9_000, 20_000)
HEADER_LENGTHS = (4_000, 8_000, *range(8_170, 8_200), 9_000, 20_000)


@pytest.fixture(scope="module")
def edge(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NginxInstance]:
    port = free_port()
    with running_web(redis_server.url, port=port):
        instance = NginxInstance(workdir=tmp_path_factory.mktemp("edge"), upstream_port=port)
        instance.render()
        instance.start()
        yield instance
        instance.stop()


def _is_envelope(response: requests.Response) -> bool:
    if response.headers.get("Content-Type", "").split(";")[0] != "application/json":
        return False
    body = response.json()
    return set(body) == {"error"} and bool(body["error"].get("code"))


def _security_headers(response: requests.Response) -> dict[str, list[str]]:
    return {name: response.raw.headers.getlist(name) for name in SECURITY_HEADERS}


def _once(expected: dict[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in expected.items()}


@pytest.mark.parametrize("length", URI_LENGTHS)
def test_every_api_error_for_a_long_uri_is_json(edge: NginxInstance, length: int) -> None:
    path = "/api/links/" + "a" * (length - len("/api/links/"))
    response = requests.get(f"{edge.base_url}{path}", timeout=10)
    assert response.status_code in (404, 414)
    assert _is_envelope(response), response.text[:200]
    if length >= 9_000:
        assert response.status_code == 414
        assert response.json()["error"]["code"] == "uri_too_long"


@pytest.mark.parametrize("length", HEADER_LENGTHS)
def test_every_api_error_for_a_long_header_is_json(edge: NginxInstance, length: int) -> None:
    value = "x" * (length - len("X-Filler: "))
    response = requests.get(
        f"{edge.base_url}/api/links/nosuchcode", headers={"X-Filler": value}, timeout=10
    )
    assert response.status_code in (404, 400)
    assert _is_envelope(response), response.text[:200]
    if length >= 9_000:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /api/links/\xc3\xa9t\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/links/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/links/abc HTTP/1.1\r\nHost: x\r\nX-Odd: a\x01b\r\n\r\n", 400),
        (b"GET /api/links/abc HTTP/9.9\r\nHost: x\r\n\r\n", 505),
        (b"GET /api/links/a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/links/abc HTTP/1.1\r\n\r\n", 400),
    ],
)
def test_malformed_requests_get_the_json_envelope_from_whichever_refuses_them(
    edge: NginxInstance, raw: bytes, status: int
) -> None:
    """Bytes no HTTP library sends: some nginx refuses, some it passes and gunicorn refuses."""
    with socket.create_connection(("127.0.0.1", edge.public_port), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        # nginx may keep the connection open: read the head, then Content-Length bytes.
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        assert length is not None, head
        while len(body) < int(length[1]) and (chunk := connection.recv(65536)):
            body += chunk
    assert int(head.split()[1]) == status
    assert b"\r\nContent-Type: application/json\r\n" in head
    assert set(json.loads(body)) == {"error"}


def test_many_headers_reach_web_and_get_its_json(edge: NginxInstance) -> None:
    headers = {f"X-Filler-{n}": "x" for n in range(500)}
    response = requests.get(f"{edge.base_url}/api/links/nosuchcode", headers=headers, timeout=10)
    assert response.status_code == 404
    assert _is_envelope(response)


@pytest.mark.parametrize("path", ["/", "/s/nosuchcode", "/static/style.css", "/api/links/x1"])
def test_web_security_headers_reach_the_client_once_and_unchanged(
    edge: NginxInstance, path: str
) -> None:
    response = requests.get(f"{edge.base_url}{path}", timeout=10)
    assert _security_headers(response) == _once(SECURITY_HEADERS)


def test_nginx_own_responses_carry_webs_security_headers(edge: NginxInstance) -> None:
    too_long = requests.get(f"{edge.base_url}/{'a' * 9_000}", timeout=10)
    hidden = requests.get(f"{edge.base_url}/metrics", timeout=10)
    for response in (too_long, hidden):
        assert _security_headers(response) == _once(SECURITY_HEADERS)


def test_the_csp_is_the_strict_one(edge: NginxInstance) -> None:
    """Review finding 6: nginx used to replace it with script-src, unsafe-inline and data:."""
    csp = requests.get(f"{edge.base_url}/", timeout=10).headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    for loosening in ("script-src", "unsafe-inline", "data:", "img-src", "connect-src", "*"):
        assert loosening not in csp


def test_the_nginx_copy_is_written_for_tests_to_compare(tmp_path: Path) -> None:
    """Guard against the test above passing vacuously: the edge really does set them."""
    instance = NginxInstance(workdir=tmp_path / "nginx", upstream_port=free_port())
    instance.render()
    instance.start()
    try:
        response = requests.get(f"{instance.base_url}/api/links/x1", timeout=10)
    finally:
        instance.stop()
    assert response.status_code == 502
    assert _security_headers(response) == _once(SECURITY_HEADERS)
