"""alert-sink: the stack's own Alertmanager webhook receiver.

It records every notification Alertmanager delivers (in memory, the last MAX_NOTIFICATIONS) and
logs each as one JSON line, so that "did the page go out?" has an answer without any external
service. `GET /notifications` returns what arrived, oldest first; `GET /-/healthy` is the health
check. Standard library only: the image needs nothing but Python.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_NOTIFICATIONS = 1000
MAX_BODY_BYTES = 1 << 20


class Notifications:
    """The notifications received so far, safe to use from the server's threads."""

    def __init__(self, limit: int = MAX_NOTIFICATIONS) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, receiver_path: str, payload: dict[str, Any]) -> dict[str, Any]:
        alerts = payload.get("alerts")
        if not isinstance(alerts, list):
            raise ValueError("an Alertmanager webhook payload has an `alerts` list")
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
        with self._lock:
            self._items.append(record)
        return record

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)


def handler_for(notifications: Notifications) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": "a JSON body up to 1 MiB"})
                return
            try:
                payload = json.loads(self.rfile.read(length))
                if not isinstance(payload, dict):
                    raise ValueError("the body is a JSON object")
                record = notifications.add(self.path, payload)
            except ValueError as error:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
                return
            print(json.dumps({"event": "notification", **record}), flush=True)
            self._answer(HTTPStatus.OK, {"recorded": len(record["alerts"])})

        def do_GET(self) -> None:
            if self.path == "/notifications":
                self._answer(HTTPStatus.OK, notifications.all())
            elif self.path == "/-/healthy":
                self._answer(HTTPStatus.OK, {"status": "ok"})
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"error": "GET /notifications or /-/healthy"})

        def _answer(self, status: HTTPStatus, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Each notification is logged as JSON above; requests themselves are not."""

    return Handler


def serve(address: str, port: int) -> ThreadingHTTPServer:
    """A server (not yet serving) that records into a fresh Notifications."""
    return ThreadingHTTPServer((address, port), handler_for(Notifications()))


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 9095
    server = serve("0.0.0.0", port)  # noqa: S104 - reached by Alertmanager on its network
    print(json.dumps({"event": "listening", "port": port}), flush=True)
    server.serve_forever()
