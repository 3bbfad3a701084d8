"""A real SSH server for tests of the deploy tool's client: paramiko's server side on 127.0.0.1,
with a fresh host key, answering as the given ServerInterface decides."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import paramiko

from rehearsal.infra import new_ed25519


@contextmanager
def ssh_server(
    interface: Callable[[paramiko.Transport], paramiko.ServerInterface],
) -> Iterator[tuple[int, paramiko.PKey]]:
    """Its port and host key, while the block runs. INTERFACE makes the server side of each
    connection from its transport (a server that must drop a connection needs it)."""
    host_key = paramiko.Ed25519Key.from_private_key(io.StringIO(new_ed25519()[0].decode()))
    listener = socket.create_server(("127.0.0.1", 0))
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed at teardown
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transports.append(transport)
            try:
                transport.start_server(server=interface(transport))
            except (paramiko.SSHException, EOFError):  # the client gave up first
                transport.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], host_key
    finally:
        listener.close()
        for transport in transports:
            transport.close()
