"""How fast one worker drains the click stream: sample events, then the real loop timed.

The worker's real loop (chores and all) runs on its own thread against a Redis that this
may write to freely (a scratch server: it replaces the click stream); this thread only
watches the counters, which is cheap next to a batch.
"""

from __future__ import annotations

import threading
import time

from linkpulse.contract import CLICK_STREAM, ClickEvent, link_keys
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from worker.worker import WORKER_ENCODING_ERRORS, Worker

DAY_MS = 86_400_000


def sample_events(count: int, *, links: int = 100, days: int = 3) -> list[ClickEvent]:
    """Events spread over `links` codes, `days` UTC days, a few referrers and visitors."""
    start_ms = int(time.time() * 1000) - days * DAY_MS
    referrers = ("", "news.example", "search.example", "social.example", "mail.example")
    return [
        ClickEvent(
            code=f"bench{i % links}",
            ts_ms=start_ms + (i * DAY_MS * days) // max(count, 1),
            referrer_host=referrers[i % len(referrers)],
            ua_class="desktop",
            visitor_hash=f"{(i * 7919) % 10_007:032x}",
            request_id=f"r{i}",
        )
        for i in range(count)
    ]


def events_handled(worker: Worker) -> int:
    """Events the worker has finished with, whatever the outcome."""
    return int(
        sum(
            sample.value
            for family in worker.metrics.events.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        )
    )


def measure_drain(redis_url: str, events: int, batch_size: int) -> float:
    """Append `events` click events, then time one worker draining them; events per second."""
    client = connect(redis_url, socket_timeout=30.0, encoding_errors=WORKER_ENCODING_ERRORS)
    sample = sample_events(events)
    codes = sorted({event.code for event in sample})
    client.delete(CLICK_STREAM, *(key for code in codes for key in link_keys(code)))
    create_links(client, codes)
    append_events(client, sample)

    worker = Worker(client, consumer_name="throughput", batch_size=batch_size)
    worker.ensure_group()
    loop = threading.Thread(target=worker.run, name="worker-loop")
    started = time.perf_counter()
    loop.start()
    deadline = started + max(60.0, events / 1_000)
    while (handled := events_handled(worker)) < events and time.perf_counter() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    worker.request_stop()
    loop.join()
    client.close()
    if handled != events:
        raise RuntimeError(f"drained {handled} of {events} events")
    return events / elapsed
