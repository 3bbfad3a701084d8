"""Lingering against a real Redis: a short batch is topped up, a full one is applied as read."""

from __future__ import annotations

import pytest
import redis

from linkpulse.contract import ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import drain, make_worker, pending_count
from worker.worker import Worker

pytestmark = pytest.mark.integration


def clicks(count: int) -> list[ClickEvent]:
    return [
        ClickEvent("alpha", 1_764_000_000_000, "", "desktop", f"v{n}", "req") for n in range(count)
    ]


def worker_and_backlog(
    redis_url: str, batch_size: int, backlog: int
) -> tuple[redis.Redis, Worker, list[str]]:
    client = connect(redis_url)
    create_links(client, ["alpha"])
    worker = make_worker(redis_url, past_own_pending=True, batch_size=batch_size, batch_linger_ms=1)
    return client, worker, append_events(client, clicks(backlog))


def test_a_short_batch_is_topped_up_with_what_arrived_meanwhile(redis_url: str) -> None:
    client, worker, first = worker_and_backlog(redis_url, batch_size=10, backlog=2)
    entries = worker.read_batch()
    later = append_events(client, clicks(3))
    topped_up = worker.linger_for_more(entries)
    assert [entry_id for entry_id, _ in topped_up] == first + later
    assert worker.process(topped_up).applied == 5
    assert pending_count(client) == 0


def test_a_full_batch_is_applied_without_waiting_for_more(redis_url: str) -> None:
    _, worker, ids = worker_and_backlog(redis_url, batch_size=4, backlog=6)
    entries = worker.read_batch()
    assert worker.linger_for_more(entries) == entries
    assert [entry_id for entry_id, _ in entries] == ids[:4]
    assert worker.process(entries).applied == 4
    assert drain(worker).applied == 2
