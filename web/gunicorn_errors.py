"""gunicorn's own error responses in the API's error envelope instead of HTML.

gunicorn answers a request it cannot parse before the app sees it: a raw non-ASCII byte in
the request line, a control character in a header value (both of which nginx passes on), a
bad chunk. It writes those answers with one function, gunicorn.util.write_error, which every
worker class calls by its module name, so replacing that function in the master, before
the workers fork, makes them JSON everywhere. tests/integration/test_web_gunicorn.py holds
this to gunicorn's behaviour, so an upgrade that stops calling it fails the build.
"""

from __future__ import annotations

import json
import socket

from gunicorn import util

from web.errors import error_code_for


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps({"error": {"code": error_code_for(status_int), "message": mesg}}) + "\n"
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    # json.dumps escapes everything outside ASCII, so the whole answer is ASCII.
    util.write_nonblock(sock, (head + body).encode("ascii", "replace"))


def install() -> None:
    util.write_error = write_json_error
