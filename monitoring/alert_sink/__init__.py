"""alert-sink: the stack's own Alertmanager webhook receiver.

It records every notification Alertmanager delivers (in memory, a window of the latest ones) and
logs each as one JSON line, so that "did the page go out?" has an answer without any external
service. `GET /notifications` returns what arrived, oldest first; `GET /-/healthy` is the health
check. Standard library only: the image needs nothing but Python.

The container runs with 64 MiB of memory and 32 pids, so every resource a client can make it hold
is bounded: a few handler threads, an idle timeout on each connection, a body limit, and a window
kept as compact JSON text (a parsed record costs several times its text).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_NOTIFICATIONS = 1000
MAX_STORED_BYTES = 16 << 20
MAX_BODY_BYTES = 1 << 20
MAX_CONNECTIONS = 4
IDLE_TIMEOUT_SECONDS = 5.0
# How long a new connection waits for a free handler before it is told 503: long enough to ride
# out a burst from Alertmanager, short enough that idle clients cannot queue up the accept loop.
BUSY_WAIT_SECONDS = 1.0


class Notifications:
    """The latest notifications (at most `limit` of them, `max_bytes` of JSON), thread-safe.

    Only the oldest records leave the window, and only to make room for a newer one.
    """

    def __init__(self, limit: int = MAX_NOTIFICATIONS, max_bytes: int = MAX_STORED_BYTES) -> None:
        self._items: deque[str] = deque()
        self._bytes = 0
        self._limit = limit
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def add(self, receiver_path: str, payload: dict[str, Any]) -> str:
        """Records one webhook payload; returns the record as the JSON text it is kept as."""
        alerts = payload.get("alerts")
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise ValueError("an Alertmanager webhook payload has an `alerts` list of objects")
        record = {
            "received_at": time.time(),
            "path": receiver_path,
            "receiver": payload.get("receiver"),
            "status": payload.get("status"),
            "group_labels": payload.get("groupLabels", {}),
            "alerts": [
                {
                    "status": alert.get("status"),
                    "labels": alert.get("labels", {}),
                    "starts_at": alert.get("startsAt"),
                    "ends_at": alert.get("endsAt"),
                }
                for alert in alerts
            ],
        }
        text = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._items.append(text)
            self._bytes += len(text)
            while len(self._items) > self._limit or (
                self._bytes > self._max_bytes and len(self._items) > 1
            ):
                self._bytes -= len(self._items.popleft())
        return text

    def snapshot(self) -> list[str]:
        """The window's records as JSON texts, oldest first (no copy of the texts themselves)."""
        with self._lock:
            return list(self._items)


class NotificationHandler(BaseHTTPRequestHandler):
    """Records Alertmanager's webhook posts into `notifications` (set by `handler_for`)."""

    notifications: Notifications
    timeout = IDLE_TIMEOUT_SECONDS

    def do_POST(self) -> None:
        declared = self.headers.get("Content-Length")
        if declared is None or not declared.isdigit():
            self._answer(HTTPStatus.LENGTH_REQUIRED, {"error": "a Content-Length is required"})
            return
        length = int(declared)
        if length > MAX_BODY_BYTES:
            # The body is never read: the connection closes after this answer.
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "a body up to 1 MiB"})
            return
        if length == 0:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "a JSON body up to 1 MiB"})
            return
        try:
            payload = json.loads(self.rfile.read(length))
            if not isinstance(payload, dict):
                raise ValueError("the body is a JSON object")
            record = self.notifications.add(self.path, payload)
        except ValueError as error:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        print('{"event":"notification",' + record[1:], flush=True)
        self._answer(HTTPStatus.OK, {"recorded": len(payload["alerts"])})

    def do_GET(self) -> None:
        if self.path == "/notifications":
            self._send_array(self.notifications.snapshot())
        elif self.path == "/-/healthy":
            self._answer(HTTPStatus.OK, {"status": "ok"})
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"error": "GET /notifications or /-/healthy"})

    def _answer(self, status: HTTPStatus, body: object) -> None:
        self._send(status, json.dumps(body).encode())

    def _send(self, status: HTTPStatus, data: bytes) -> None:
        self._send_headers(status, len(data))
        self.wfile.write(data)

    def _send_array(self, items: list[str]) -> None:
        """A JSON array written item by item: the window is never copied whole."""
        # json.dumps escapes every non-ASCII character, so a text's length is its size.
        self._send_headers(HTTPStatus.OK, 2 + sum(map(len, items)) + max(len(items) - 1, 0))
        self.wfile.write(b"[")
        for position, item in enumerate(items):
            self.wfile.write((b"," if position else b"") + item.encode("ascii"))
        self.wfile.write(b"]")

    def _send_headers(self, status: HTTPStatus, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Each notification is logged as JSON above; requests themselves are not."""


def handler_for(
    notifications: Notifications, idle_timeout: float = IDLE_TIMEOUT_SECONDS
) -> type[NotificationHandler]:
    """A handler class bound to one window, closing connections idle for `idle_timeout` s."""
    return type(
        "BoundNotificationHandler",
        (NotificationHandler,),
        {"notifications": notifications, "timeout": idle_timeout},
    )


_BUSY_BODY = b'{"error": "busy: every handler is taken, try again"}'
BUSY_ANSWER = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    + b"Content-Length: %d\r\n\r\n" % len(_BUSY_BODY)
    + _BUSY_BODY
)


class BoundedHTTPServer(ThreadingHTTPServer):
    """A threading server with at most `max_connections` handler threads at once."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(timeout=BUSY_WAIT_SECONDS):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started: answer as busy, never crash
            self._slots.release()
            self._refuse(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        try:
            request.settimeout(BUSY_WAIT_SECONDS)
            request.sendall(BUSY_ANSWER)
        except OSError:
            pass
        self.shutdown_request(request)


def serve(address: str, port: int, idle_timeout: float = IDLE_TIMEOUT_SECONDS) -> BoundedHTTPServer:
    """A server (not yet serving) that records into a fresh Notifications."""
    return BoundedHTTPServer((address, port), handler_for(Notifications(), idle_timeout))


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 9095
    server = serve("0.0.0.0", port)  # noqa: S104 - reached by Alertmanager on its network
    print(json.dumps({"event": "listening", "port": server.server_address[1]}), flush=True)
    server.serve_forever()
