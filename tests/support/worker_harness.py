"""Driving a Worker by hand against a real Redis, for the tests of its steps."""

from __future__ import annotations

import redis

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, TOTAL_CLICKS_FIELD, stats_key
from linkpulse.redis_client import connect
from worker.batch import BatchOutcome
from worker.worker import WORKER_ENCODING_ERRORS, Worker


def make_worker(
    redis_url: str, name: str = "worker-a", *, past_own_pending: bool = False, **options: int
) -> Worker:
    """A consumer in the group; `past_own_pending` makes its next read take new entries.

    A consumer's first read looks only at entries it already holds (so a restarted worker
    finishes those first); tests of later steps want that read behind them.
    """
    client = connect(redis_url, encoding_errors=WORKER_ENCODING_ERRORS)
    worker = Worker(client, consumer_name=name, batch_wait_ms=50, **options)
    worker.ensure_group()
    if past_own_pending:
        worker.read_batch()
    return worker


def drain(worker: Worker) -> BatchOutcome:
    """Read and apply until two reads in a row come back empty."""
    outcome, empty_reads = BatchOutcome(), 0
    while empty_reads < 2:
        entries = worker.read_batch(block_ms=50)
        if entries:
            outcome += worker.process(entries)
            empty_reads = 0
        else:
            empty_reads += 1
    return outcome


def total_clicks(client: redis.Redis, code: str) -> int:
    return int(client.hget(stats_key(code), TOTAL_CLICKS_FIELD) or 0)


def pending_count(client: redis.Redis) -> int:
    return int(client.xpending(CLICK_STREAM, CLICK_GROUP)["pending"])
