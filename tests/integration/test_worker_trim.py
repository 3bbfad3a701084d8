"""Trimming the click stream below what the group acknowledged, and the status gauges."""

from __future__ import annotations

import pytest
import redis

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import make_worker

pytestmark = pytest.mark.integration


def clicks(count: int) -> list[ClickEvent]:
    return [ClickEvent("trim", 1_764_000_000_000, "", "desktop", "v", "r") for _ in range(count)]


def stream_ids(client: redis.Redis) -> set[str]:
    return {entry_id for entry_id, _ in client.xrange(CLICK_STREAM)}


def test_trim_keeps_every_entry_not_yet_acknowledged(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["trim"])
    ids = append_events(client, clicks(1_000))
    early = make_worker(redis_url, "early", batch_size=300, past_own_pending=True)
    early.process(early.read_batch(block_ms=50))  # ids[0:300] acknowledged
    stuck = make_worker(redis_url, "stuck", batch_size=200, past_own_pending=True)
    stuck.read_batch(block_ms=50)  # ids[300:500] pending, never acknowledged
    early.process(early.read_batch(block_ms=50))  # ids[500:800] acknowledged
    # ids[800:1000] not delivered at all

    removed = early.trim(early.read_status())

    remaining = stream_ids(client)
    assert set(ids[300:500]) <= remaining
    assert set(ids[800:]) <= remaining
    assert removed == 1_000 - len(remaining)
    # "~" trims whole nodes (100 entries by default): most of ids[0:300] go.
    assert removed >= 200


def test_nothing_is_trimmed_before_anything_is_delivered(redis_url: str) -> None:
    client = connect(redis_url)
    append_events(client, clicks(500))
    worker = make_worker(redis_url, "w", batch_size=100, past_own_pending=True)

    assert worker.trim(worker.read_status()) == 0
    assert client.xlen(CLICK_STREAM) == 500


def test_everything_acknowledged_can_go(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["trim"])
    ids = append_events(client, clicks(1_000))
    worker = make_worker(redis_url, "w", batch_size=1_000, past_own_pending=True)
    worker.process(worker.read_batch(block_ms=50))

    worker.trim(worker.read_status())

    assert stream_ids(client) <= set(ids[900:])
    assert ids[-1] in stream_ids(client)


def test_status_reports_lag_pending_and_the_oldest_unprocessed_event(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["trim"])
    ids = append_events(client, clicks(50))
    worker = make_worker(redis_url, "w", batch_size=20, past_own_pending=True)
    worker.process(worker.read_batch(block_ms=50))
    worker.read_batch(block_ms=50)  # 20 pending

    status = worker.read_status()
    worker.export_status(status)

    assert status.length == 50
    assert status.last_delivered_id == ids[39]
    assert (status.pending, status.oldest_pending_id) == (20, ids[20])
    assert status.first_undelivered_id == ids[40]
    assert status.lag == 10
    registry = worker.metrics.registry
    assert registry.get_sample_value("linkpulse_worker_group_lag") == 10
    assert registry.get_sample_value("linkpulse_worker_group_pending") == 20
    assert registry.get_sample_value("linkpulse_worker_stream_length") == 50
    age = registry.get_sample_value("linkpulse_worker_oldest_unprocessed_event_age_seconds")
    assert age is not None
    assert age >= 0


def test_status_when_everything_is_processed(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["trim"])
    append_events(client, clicks(5))
    worker = make_worker(redis_url, "w", batch_size=20, past_own_pending=True)
    worker.process(worker.read_batch(block_ms=50))

    status = worker.read_status()

    assert (status.pending, status.oldest_pending_id, status.first_undelivered_id) == (
        0,
        None,
        None,
    )
    assert status.lag == 0
    assert status.oldest_unprocessed_age_seconds() == 0.0
    assert client.xinfo_groups(CLICK_STREAM)[0]["name"] == CLICK_GROUP


def test_a_destroyed_group_reads_as_a_redis_error_so_the_loop_recreates_it(
    redis_url: str,
) -> None:
    client = connect(redis_url)
    worker = make_worker(redis_url, "w", batch_size=10, past_own_pending=True)
    client.xgroup_destroy(CLICK_STREAM, CLICK_GROUP)

    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        worker.read_status()
    worker.ensure_group()
    assert worker.read_status().last_delivered_id == "0-0"
