"""Lingering against a real Redis: a short batch is topped up, a full one is applied as read."""

from __future__ import annotations

import pytest

from linkpulse.contract import ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import drain, make_worker, pending_count

pytestmark = pytest.mark.integration


def clicks(count: int) -> list[ClickEvent]:
    return [
        ClickEvent("alpha", 1_764_000_000_000, "", "desktop", f"v{n}", "req") for n in range(count)
    ]


def test_a_short_batch_is_topped_up_with_what_arrived_meanwhile(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["alpha"])
    worker = make_worker(redis_url, past_own_pending=True, batch_size=10, batch_linger_ms=1)
    first = append_events(client, clicks(2))
    entries = worker.read_batch()
    later = append_events(client, clicks(3))
    topped_up = worker.linger_for_more(entries)
    assert [entry_id for entry_id, _ in topped_up] == first + later
    assert worker.process(topped_up).applied == 5
    assert pending_count(client) == 0


def test_a_full_batch_is_applied_without_waiting_for_more(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["alpha"])
    worker = make_worker(redis_url, past_own_pending=True, batch_size=4, batch_linger_ms=1)
    ids = append_events(client, clicks(6))
    entries = worker.read_batch()
    assert worker.linger_for_more(entries) == entries
    assert [entry_id for entry_id, _ in entries] == ids[:4]
    assert worker.process(entries).applied == 4
    assert drain(worker).applied == 2
