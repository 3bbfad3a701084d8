"""The test harness's own redis-server: starting it leaves no connection of the harness open."""

from __future__ import annotations

import gc
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.redis_server import RedisServer, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees objects, as when the collector does not run in time."""
    gc.disable()
    yield
    gc.enable()


def test_a_server_slow_to_start_has_no_connection_left_by_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_cyclic_gc: None
) -> None:
    """Tests count the server's connections (test_redirect_deadline): start's must be gone."""
    real_popen = subprocess.Popen

    def slow_to_listen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # `exec` keeps the pid, so the server can still be signalled and stopped by it.
        return real_popen(["sh", "-c", 'sleep 0.5; exec "$@"', "sh", *args], **kwargs)

    monkeypatch.setattr(subprocess, "Popen", slow_to_listen)
    server = RedisServer(port=free_port(), data_dir=tmp_path)
    server.start()
    monkeypatch.undo()
    try:
        with redis.Redis(port=server.port) as direct:
            assert direct.info("clients")["connected_clients"] == 1
    finally:
        server.stop()
