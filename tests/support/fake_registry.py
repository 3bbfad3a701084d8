"""A registry's v2 manifest endpoint on 127.0.0.1 that answers the way a test tells it to."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIGEST = "sha256:" + "ab" * 32
TOKEN = "anonymous-pull-token"


class FakeRegistry(ThreadingHTTPServer):
    # status: what a manifest request gets; "token" plays the bearer-token flow first, and
    # token_status is what the token service answers (200: a token).
    status: int | str = 200
    token_status = 200
    requests: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeRegistry

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows the test's own output."""

    def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        status = self.server.status
        if status == "token":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                realm = f"{self.server.url}/token"
                challenge = (
                    f'Bearer realm="{realm}",service="fake",scope="repository:library/redis:pull"'
                )
                self._answer(401, {"WWW-Authenticate": challenge})
                return
            status = 200
        assert isinstance(status, int)
        headers = {"Docker-Content-Digest": DIGEST} if status == 200 else {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="fake"'
        if status == 429:
            headers["Retry-After"] = "60"
        self._answer(status, headers)

    def do_GET(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        if self.path.startswith("/token?"):
            if self.server.token_status == 200:
                self._answer(200, {}, json.dumps({"token": TOKEN}).encode())
            else:
                self._answer(self.server.token_status, {})
            return
        self.do_HEAD()


@contextmanager
def fake_registry(status: int | str = 200, token_status: int = 200) -> Iterator[FakeRegistry]:
    server = FakeRegistry(("127.0.0.1", 0), _Handler)
    server.status, server.token_status, server.requests = status, token_status, []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def closed_port() -> Iterator[str]:
    """A loopback address where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextmanager
def silent_listener() -> Iterator[str]:
    """A loopback address that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
