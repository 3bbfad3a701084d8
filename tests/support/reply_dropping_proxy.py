"""A TCP proxy in front of redis-server that can lose one reply, as a flaky network would.

Armed, it forwards the next request to Redis, lets Redis execute it, and then closes the
client's connection instead of passing the reply on. redis-py sees a dropped connection and
retries the command on a new one: the case where a write happened but its sender cannot
know it did. It can then refuse connections for a while, as a restarting Redis does, so that
redis-py's own resend fails too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class ReplyDroppingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.dropped = threading.Event()
        self._then_refuse_s = 0.0
        self._refuse_until = 0.0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._listener.close()

    def drop_next_reply(self, then_refuse_s: float = 0.0) -> None:
        """Lose the next reply, then close every new connection for `then_refuse_s`."""
        self.dropped.clear()
        self._then_refuse_s = then_refuse_s
        self._armed.set()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if replies and self._armed.is_set():
                    self._refuse_until = time.monotonic() + self._then_refuse_s
                    self._armed.clear()
                    self.dropped.set()
                    break
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
