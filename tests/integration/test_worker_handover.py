"""A stopping worker hands its entries over: drained, out of the group, nothing counted twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import make_worker, total_clicks
from tests.support.worker_process import REPO_ROOT, WorkerSlot, log_records

pytestmark = pytest.mark.integration

CODES = ("one", "two", "three")
EVENTS = 6_000
BURST = 200


def clicks(count: int, first: int = 0) -> list[ClickEvent]:
    return [
        ClickEvent(CODES[n % 3], 1_764_000_000_000, "", "desktop", f"v{n}", f"req-{n}")
        for n in range(first, first + count)
    ]


def consumers(client: redis.Redis) -> set[str]:
    return {str(c["name"]) for c in client.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}


def pending_of(client: redis.Redis, consumer: str) -> int:
    summary = client.xpending(CLICK_STREAM, CLICK_GROUP)
    return sum(int(c["pending"]) for c in summary["consumers"] if c["name"] == consumer)


def totals(client: redis.Redis) -> Counter[str]:
    return Counter({code: total_clicks(client, code) for code in CODES})


def wait_until(done: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def produce(client: redis.Redis, events: list[ClickEvent]) -> None:
    for start in range(0, len(events), BURST):
        append_events(client, events[start : start + BURST])
        time.sleep(0.05)


def all_counted(client: redis.Redis, events: list[ClickEvent]) -> bool:
    group = next(g for g in client.xinfo_groups(CLICK_STREAM) if g["name"] == CLICK_GROUP)
    return group["entries-read"] == len(events) and group["pending"] == 0


def test_hand_over_applies_what_was_read_and_leaves_the_group(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, CODES)
    append_events(client, clicks(30))
    old = make_worker(redis_url, "old", batch_size=10, past_own_pending=True)
    # Read and not applied: pending on "old", as a read-ahead batch or a failed apply is.
    assert len(old.read_batch(block_ms=50)) == 10
    assert len(old.read_batch(block_ms=50)) == 10

    old.request_stop()
    assert old.hand_over()

    assert "old" not in consumers(client)
    assert sum(totals(client).values()) == 20
    successor = make_worker(redis_url, "new", past_own_pending=True)
    successor.process(successor.read_batch(block_ms=50))
    assert totals(client) == Counter(e.code for e in clicks(30))


def test_a_drain_out_of_time_stays_in_the_group_for_a_reclaim(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, CODES)
    append_events(client, clicks(12))
    old = make_worker(redis_url, "old", batch_size=12, past_own_pending=True, drain_s=0)
    assert len(old.read_batch(block_ms=50)) == 12

    assert not old.hand_over()

    assert old.own_pending() == 12
    assert "old" in consumers(client)
    successor = make_worker(redis_url, "new", past_own_pending=True)
    assert successor.reclaim(min_idle_ms=0) == 12
    assert totals(client) == Counter(e.code for e in clicks(12))


def test_sigterm_mid_stream_hands_over_to_the_successor(redis_url: str, tmp_path: Path) -> None:
    client = connect(redis_url, socket_timeout=30)
    create_links(client, CODES)
    events = clicks(EVENTS)
    append_events(client, events[:BURST])
    # Long reclaim idle: only the handover, never a reclaim, can bring the old one's entries in.
    slow_reclaim = {"WORKER_RECLAIM_IDLE_MS": "600000", "WORKER_BATCH_SIZE": "20"}
    old = WorkerSlot(redis_url, tmp_path / "old.log", WORKER_CONSUMER_NAME="old", **slow_reclaim)
    new = WorkerSlot(redis_url, tmp_path / "new.log", WORKER_CONSUMER_NAME="new", **slow_reclaim)
    old.start()
    wait_until(lambda: sum(totals(client).values()) > 0)
    new.start()
    new.wait_until_serving()
    producer = threading.Thread(target=produce, args=(client, events[BURST:]), daemon=True)
    producer.start()

    assert old.stop() == 0  # while events keep coming

    assert "old" not in consumers(client)
    producer.join()
    wait_until(lambda: all_counted(client, events))
    assert new.stop() == 0
    assert totals(client) == Counter(e.code for e in events)
    records = log_records(old.log_path)
    handed_over = [r for r in records if str(r["msg"]).startswith("handed over")]
    assert [(r["left_group"], r["left_pending"]) for r in handed_over] == [(True, 0)]
    assert not [r for r in records if r["level"] == "error"]


def test_take_over_claims_only_the_retired_consumers_entries(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, CODES)
    append_events(client, clicks(30))
    for name in ("0123abcd-7", "0123abcd-9", "alive-1"):
        make_worker(redis_url, name, batch_size=10, past_own_pending=True).read_batch(block_ms=50)
    taker = make_worker(redis_url, "new-take-over")

    assert taker.take_over("0123abcd-") == 20

    assert {c: pending_of(client, c) for c in consumers(client)} == {"alive-1": 10}
    assert sum(totals(client).values()) == 20


def test_a_killed_workers_entries_are_claimed_at_once_by_the_one_shot(
    redis_url: str, tmp_path: Path
) -> None:
    client = connect(redis_url, socket_timeout=30)
    create_links(client, CODES)
    client.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    append_events(client, clicks(EVENTS))
    # What the killed one had read and not applied: read here under its name, then the
    # process is killed before its interpreter is up, so it never applies them.
    stranded = client.xreadgroup(CLICK_GROUP, "killed-7", {CLICK_STREAM: ">"}, count=50)
    assert len(stranded[0][1]) == 50
    killed = WorkerSlot(redis_url, tmp_path / "killed.log", WORKER_CONSUMER_NAME="killed-7")
    killed.start()
    killed.kill()
    assert pending_of(client, "killed-7") == 50
    # No reclaim in this test's time: only the one-shot can bring the 50 in.
    new = WorkerSlot(
        redis_url, tmp_path / "new.log", WORKER_CONSUMER_NAME="new", WORKER_RECLAIM_IDLE_MS="600000"
    )
    new.start()

    one_shot = subprocess.run(
        [sys.executable, "-m", "worker.take_over", "killed-"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        check=False,
    )

    assert one_shot.returncode == 0, one_shot.stderr
    wait_until(lambda: all_counted(client, clicks(EVENTS)))
    assert new.stop() == 0
    assert totals(client) == Counter(e.code for e in clicks(EVENTS))
    assert consumers(client) == set()  # the killed one, the one-shot and "new" all left
    took_over = [json.loads(line) for line in one_shot.stderr.splitlines() if line.startswith("{")]
    assert [r["claimed"] for r in took_over if r["msg"] == "took over"] == [50]
