from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.stack.stack import Stack, compose, up

# `make test-arm64` sets the project (linkpulse-arm64) and its compose files in the environment.
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME", "")
PORT = int(os.environ.get("ARM64_HTTP_PORT", "48080"))


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def arm64_stack() -> Iterator[Stack]:
    """web and worker of the arm64 image, and redis, started here and removed afterwards.

    Refuses to start over anything it did not make: containers of its project, or its port.
    """
    if PROJECT != "linkpulse-arm64":
        pytest.skip("the arm64 tier runs from make test-arm64 (project linkpulse-arm64)")
    leftover = compose("ps", "--all", "--quiet").split()
    if leftover:
        pytest.fail(
            f"{len(leftover)} container(s) of project {PROJECT} exist already: not started "
            f"(docker compose -p {PROJECT} down removes them)"
        )
    if _port_taken(PORT):
        pytest.fail(f"127.0.0.1:{PORT} is taken: the arm64 tier needs it (ARM64_HTTP_PORT)")
    try:
        # Emulated, web starts far slower than natively: its health check allows for it.
        up("--no-build", "web", "worker")
        yield Stack(app_url=f"http://127.0.0.1:{PORT}", prometheus_url="")
    finally:
        compose("down", "--volumes", "--remove-orphans")
