"""Backup and restore on a real redis-server run as the stack runs it (AOF on): the snapshot,
the install of the RDB as the AOF's base, the refusal, and exactly-once counting afterwards.

Only the few lines that reach the server differ from the stack's (backup.compose): a process
here, a container there. The stack tier's restore drill covers those (tests/stack/test_backup.py).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup.snapshot import (
    INSTALL_SCRIPT,
    BackupError,
    contents,
    read_backup,
    restore_backup,
    take_backup,
)
from linkpulse.contract import CLICK_STREAM, ClickEvent, link_key
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.redis_server import RedisServer
from tests.support.worker_harness import drain, make_worker, pending_count, total_clicks

pytestmark = pytest.mark.integration


class ProcessRedis:
    """A RedisHost for a redis-server process of this test's own."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server

    def cli(self, *args: str) -> str:
        command = ["redis-cli", "-p", str(self.server.port), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def read_dump(self) -> bytes:
        return (self.server.data_dir / "dump.rdb").read_bytes()

    def replace_data(self, rdb: bytes) -> None:
        self.server.stop()
        subprocess.run(
            ["sh", "-c", INSTALL_SCRIPT], input=rdb, cwd=self.server.data_dir, check=True
        )
        self.server.start()

    def release(self) -> str:
        return ""


def clicks(code: str, count: int) -> list[ClickEvent]:
    return [ClickEvent(code, 1_764_000_000_000, "", "desktop", f"v{n}", "r") for n in range(count)]


def test_a_restore_brings_back_the_links_counts_and_unprocessed_clicks_counted_once(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    host, client = ProcessRedis(own_redis), connect(own_redis.url)
    create_links(client, ["kept"])
    append_events(client, clicks("kept", 9))
    counting = make_worker(own_redis.url, "counting", batch_size=4, past_own_pending=True)
    counting.process(counting.read_batch(block_ms=50))  # 4 counted
    dying = make_worker(own_redis.url, "dying", batch_size=3, past_own_pending=True)
    assert len(dying.read_batch(block_ms=50)) == 3  # 3 pending: it dies before applying them
    # ...and 2 never delivered.

    path = take_backup(host, tmp_path / "backups", datetime.now(UTC))
    assert path.name.startswith("linkpulse-local-")

    create_links(client, ["later"])
    append_events(client, clicks("kept", 5))
    drain(counting)
    assert total_clicks(client, "kept") == 4 + 2 + 5

    with pytest.raises(BackupError, match=r"would lose 6 keys: 2 links, 14 click events"):
        restore_backup(host, read_backup(path), force=False)
    assert client.exists(link_key("later"))

    restored = restore_backup(host, read_backup(path), force=True)

    assert (restored.links, restored.stream_length, restored.pending) == (1, 9, 3)
    client = connect(own_redis.url)
    assert not client.exists(link_key("later"))
    assert total_clicks(client, "kept") == 4
    after = make_worker(own_redis.url, "after-restore")
    assert after.reclaim(min_idle_ms=0) == 3
    drain(after)
    assert total_clicks(client, "kept") == 9
    assert pending_count(client) == 0


def test_a_restore_into_a_fresh_redis_needs_no_force(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    host, client = ProcessRedis(own_redis), connect(own_redis.url)
    create_links(client, ["one"])
    path = take_backup(host, tmp_path, datetime.now(UTC))
    client.flushall()
    make_worker(own_redis.url)  # a fresh stack's worker: an empty stream and its group

    assert contents(host).is_empty()
    assert restore_backup(host, read_backup(path), force=False).links == 1
    assert connect(own_redis.url).exists(link_key("one"))
    assert connect(own_redis.url).xlen(CLICK_STREAM) == 0
