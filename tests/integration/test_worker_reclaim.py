"""Reclaiming a dead or slow consumer's entries, and removing idle consumers, on a real Redis."""

from __future__ import annotations

import pytest
import redis

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import make_worker, total_clicks
from worker.batch import BatchOutcome
from worker.worker import Worker

pytestmark = pytest.mark.integration


def clicks(code: str, count: int) -> list[ClickEvent]:
    return [ClickEvent(code, 1_764_000_000_000, "", "desktop", f"v{n}", "r") for n in range(count)]


def pending_by_consumer(client: redis.Redis) -> dict[str, int]:
    summary = client.xpending(CLICK_STREAM, CLICK_GROUP)
    return {c["name"]: int(c["pending"]) for c in summary["consumers"]}


def reclaimed(worker: Worker) -> float:
    value = worker.metrics.registry.get_sample_value("linkpulse_worker_events_reclaimed_total")
    return 0.0 if value is None else value


def test_a_dead_consumers_pending_events_are_reclaimed_and_counted(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["dead"])
    append_events(client, clicks("dead", 7))
    dead = make_worker(redis_url, "dead-consumer", batch_size=5, past_own_pending=True)
    assert len(dead.read_batch(block_ms=50)) == 5  # ...and then it dies
    survivor = make_worker(redis_url, "survivor", batch_size=2, past_own_pending=True)

    assert survivor.reclaim(min_idle_ms=0) == 5

    assert total_clicks(client, "dead") == 5
    assert pending_by_consumer(client) == {}
    assert reclaimed(survivor) == 5


def test_entries_younger_than_the_idle_threshold_are_left_alone(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["busy"])
    append_events(client, clicks("busy", 3))
    owner = make_worker(redis_url, "owner", past_own_pending=True)
    owner.read_batch(block_ms=50)
    other = make_worker(redis_url, "other", reclaim_idle_ms=60_000, past_own_pending=True)

    assert other.reclaim() == 0
    assert pending_by_consumer(client) == {"owner": 3}


def test_a_slow_consumer_does_not_count_entries_reclaimed_from_it(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["slow"])
    append_events(client, clicks("slow", 10))
    slow = make_worker(redis_url, "slow", past_own_pending=True)
    fast = make_worker(redis_url, "fast", past_own_pending=True)
    entries = slow.read_batch(block_ms=50)
    assert len(entries) == 10

    fast.reclaim(min_idle_ms=0)
    outcome = slow.apply(entries)

    assert outcome == BatchOutcome(skipped=10)
    assert total_clicks(client, "slow") == 10
    assert pending_by_consumer(client) == {}


def test_a_slow_consumer_counts_only_the_entries_it_still_owns(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["half"])
    append_events(client, clicks("half", 6))
    slow = make_worker(redis_url, "slow", past_own_pending=True)
    entries = slow.read_batch(block_ms=50)
    taken = [entry_id for entry_id, _ in entries[::2]]
    client.xclaim(CLICK_STREAM, CLICK_GROUP, "other", 0, taken, justid=True)

    assert slow.apply(entries) == BatchOutcome(applied=3, skipped=3)
    assert total_clicks(client, "half") == 3
    assert pending_by_consumer(client) == {"other": 3}

    other = make_worker(redis_url, "other", past_own_pending=True)
    assert other.read_batch() == [e for e in entries if e[0] in taken]
    other.process([e for e in entries if e[0] in taken])
    assert total_clicks(client, "half") == 6
    assert pending_by_consumer(client) == {}


def test_the_ownership_check_holds_when_a_consumer_owns_more_than_the_call(
    redis_url: str,
) -> None:
    """The script's one-listing fast path must fall back to exact per-entry checks."""
    client = connect(redis_url)
    create_links(client, ["many"])
    append_events(client, clicks("many", 8))
    worker = make_worker(redis_url, "holder", batch_size=8, past_own_pending=True)
    entries = worker.read_batch(block_ms=50)
    newest = entries[-3:]
    client.xclaim(CLICK_STREAM, CLICK_GROUP, "thief", 0, [newest[0][0]], justid=True)

    assert worker.apply(newest) == BatchOutcome(applied=2, skipped=1)
    assert worker.apply(entries[:5]) == BatchOutcome(applied=5)
    assert total_clicks(client, "many") == 7
    assert pending_by_consumer(client) == {"thief": 1}


def test_idle_consumers_without_pending_entries_are_removed(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["x"])
    append_events(client, clicks("x", 2))
    holder = make_worker(redis_url, "holder", past_own_pending=True)
    holder.read_batch(block_ms=50)
    client.xgroup_createconsumer(CLICK_STREAM, CLICK_GROUP, "ghost")
    janitor = make_worker(redis_url, "janitor", consumer_idle_ms=0, past_own_pending=True)

    removed = janitor.remove_idle_consumers()

    assert removed == ["ghost"]
    names = {c["name"] for c in client.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}
    assert names == {"holder", "janitor"}
    assert pending_by_consumer(client) == {"holder": 2}


def test_busy_consumers_are_not_removed(redis_url: str) -> None:
    client = connect(redis_url)
    client.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    client.xgroup_createconsumer(CLICK_STREAM, CLICK_GROUP, "recent")
    # Default consumer idle limit: an hour at least.
    janitor = make_worker(redis_url, "janitor", past_own_pending=True)

    assert janitor.remove_idle_consumers() == []
    names = {c["name"] for c in client.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}
    assert names == {"recent", "janitor"}
