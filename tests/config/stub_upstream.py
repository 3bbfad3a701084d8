"""A tiny HTTP/1.1 keep-alive server standing in for web behind nginx.

It answers every request with a JSON echo of what it received (path, headers) and the id of
the TCP connection the request came on, so tests can see what nginx forwarded and whether it
reused upstream connections.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from web.security_headers import SECURITY_HEADERS


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle plus delayed ACKs add 40 ms
    # to every request on a kept-alive connection.
    disable_nagle_algorithm = True
    connection_ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def setup(self) -> None:
        super().setup()
        self.connection_id = next(self.connection_ids)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body_received = self.rfile.read(length) if length else b""
        payload = {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "connection_id": self.connection_id,
            "server_port": self.server.server_address[1],
            "body_bytes": len(body_received),
        }
        body = json.dumps(payload).encode()
        # A test can ask for an error web would send, with its own Retry-After.
        self.send_response(int(self.headers.get("X-Stub-Status") or 200))
        if self.headers.get("X-Stub-Retry-After"):
            self.send_header("Retry-After", self.headers["X-Stub-Retry-After"])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        # web sends its security headers on every response; nginx must pass them on as they
        # are. Its X-Request-ID is nginx's to set.
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("X-Request-ID", "set-by-upstream")
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer
    do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StubUpstream:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
