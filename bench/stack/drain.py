"""One worker process draining a backlog of click events, against redis-benchmark XADD.

Both run inside the stack: redis-benchmark in the redis container, the worker in its own
container, paused while the backlog is written and resumed to drain it. The drain rate is
taken between the first and the last reading that shows progress, so the resume itself and
the first blocking read do not count.
"""

from __future__ import annotations

import random
import time

from bench.stack.compose import (
    StreamProbe,
    compose,
    in_redis,
    redis_cli,
    redis_pipe,
    resp,
    stream_probe,
)
from linkpulse.contract import CLICK_STREAM, ClickEvent

BASELINE_KEY = "bench:xadd"
ZIPF_EXPONENT = 1.1


def zipf_events(codes: list[str], count: int, seed: int) -> list[ClickEvent]:
    """Clicks on `codes` with Zipf-distributed popularity (the first code the most popular),
    today's time, a handful of referrers and user-agent classes, 20,000 distinct visitors."""
    rng = random.Random(seed)
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(codes) + 1)]
    now_ms = int(time.time() * 1000)
    referrers = ("", "news.example", "search.example", "social.example", "mail.example")
    ua_classes = ("desktop", "mobile", "bot", "other")
    return [
        ClickEvent(
            code=code,
            ts_ms=now_ms - rng.randrange(3_600_000),
            referrer_host=rng.choice(referrers),
            ua_class=rng.choice(ua_classes),
            visitor_hash=f"{rng.randrange(20_000):032x}",
            request_id=f"bench-{seed}-{number}",
        )
        for number, code in enumerate(rng.choices(codes, weights, k=count))
    ]


def xadd_baseline(events: int) -> float:
    """redis-benchmark XADD, pipeline 16, in the redis container; events/s."""
    fields = (
        "code abcdefg ts 1700000000000 ref example.org ua desktop vh "
        + "0" * 32
        + " rid "
        + "r" * 32
    )
    out = in_redis(
        f'redis-benchmark -a "$REDIS_PASSWORD" -n {events} -P 16 --csv '
        f'XADD {BASELINE_KEY} "*" {fields}'
    )
    redis_cli("DEL", BASELINE_KEY)
    last = out.strip().splitlines()[-1]
    return float(last.split(",")[1].strip('"'))


def wait_caught_up(probe: StreamProbe, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = probe.read()
        if reading.undelivered == 0 and reading.pending == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("the worker did not catch up with the click stream")


def measure_drain(events: list[ClickEvent]) -> float:
    """Events/s of the stack's one worker draining `events` written while it was paused."""
    commands = b"".join(resp("XADD", CLICK_STREAM, "*", *event.field_values()) for event in events)
    with stream_probe() as probe:
        wait_caught_up(probe)
        compose("pause", "worker")
        try:
            redis_pipe(commands)
            backlog = probe.read()
        finally:
            compose("unpause", "worker")
        # The group's entries-read is exact only while nothing was trimmed; near enough is
        # enough, because the rate counts only the progress the readings show.
        if backlog.undelivered < len(events) * 0.99:
            raise RuntimeError(f"backlog of {backlog.undelivered}, expected {len(events)}")
        first: tuple[int, int] | None = None
        last: tuple[int, int] | None = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            reading = probe.read()
            if reading.undelivered < 0:
                raise RuntimeError("Redis cannot tell the group's lag (entries-read unknown)")
            remaining = reading.undelivered + reading.pending
            done = backlog.undelivered - remaining
            if done > 0 and first is None:
                first = (reading.server_ms, done)
            if first is not None:
                last = (reading.server_ms, done)
            if remaining == 0:
                break
            # Each reading runs redis-cli in the redis container, on redis' CPU share: not
            # too often, then. A drain lasts seconds, so 0.1 s costs little precision.
            time.sleep(0.1)
        else:
            raise RuntimeError("the worker did not drain the backlog in 300 s")
    assert first is not None
    assert last is not None
    if last[0] <= first[0]:
        raise RuntimeError("the drain finished within one reading: use more events")
    return (last[1] - first[1]) / ((last[0] - first[0]) / 1000)
