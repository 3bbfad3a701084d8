"""Exactly once under fire: two real workers, one of them SIGKILLed again and again.

Events go in while the workers run; at random moments one worker is killed with SIGKILL
(no chance to finish anything) and restarted under a new name. Pending entries of the
dead are reclaimed after 200 ms. In the end every total, per link, per day and per
referrer, must equal what was sent: nothing lost, nothing counted twice.

The schedule is random but seeded; the seed is printed, and LINKPULSE_CHAOS_SEED
replays it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from linkpulse.contract import (
    CLICK_GROUP,
    CLICK_STREAM,
    TOTAL_CLICKS_FIELD,
    ClickEvent,
    day_field,
    day_of,
    referrers_key,
    stats_key,
    visitors_key,
)
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_process import WorkerSlot, log_records

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 20_000
BURST = 400
BURST_PAUSE_S = 0.3
MIN_KILLS = 25
CODES = ("alpha", "bravo", "charlie", "delta", "echo")
REFERRERS = ("", "news.example", "search.example", "social.example")
DAY_MS = 86_400_000


def make_events(rng: random.Random) -> list[ClickEvent]:
    first_day = 1_764_028_800_000 - 2 * DAY_MS  # three UTC days
    return [
        ClickEvent(
            code=rng.choice(CODES),
            ts_ms=first_day + rng.randrange(3 * DAY_MS),
            referrer_host=rng.choice(REFERRERS),
            ua_class="desktop",
            visitor_hash=f"visitor-{rng.randrange(300)}",
            request_id=f"req-{n}",
        )
        for n in range(EVENTS)
    ]


def produce(client: redis.Redis, events: list[ClickEvent], done: threading.Event) -> None:
    for start in range(0, len(events), BURST):
        append_events(client, events[start : start + BURST])
        time.sleep(BURST_PAUSE_S)
    done.set()


def drained(client: redis.Redis) -> bool:
    group = next(g for g in client.xinfo_groups(CLICK_STREAM) if g["name"] == CLICK_GROUP)
    return group["entries-read"] == EVENTS and group["pending"] == 0


def test_totals_stay_exact_while_workers_are_killed(redis_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("LINKPULSE_CHAOS_SEED", random.randrange(2**32)))
    print(f"chaos seed: {seed} (LINKPULSE_CHAOS_SEED={seed} replays the schedule)")
    rng = random.Random(seed)
    events = make_events(rng)
    client = connect(redis_url, socket_timeout=30)
    create_links(client, CODES)
    client.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    # A consumer that dies between its read and its apply, for certain: the random kills below
    # may or may not land inside a batch, these entries are left pending whatever the timing.
    append_events(client, events[:BURST])
    stranded = client.xreadgroup(CLICK_GROUP, "killed-mid-batch", {CLICK_STREAM: ">"}, count=50)
    assert len(stranded[0][1]) == 50

    slots = [WorkerSlot(redis_url, tmp_path / f"worker-{n}.log") for n in range(2)]
    for slot in slots:
        slot.start()
    produced = threading.Event()
    producer = threading.Thread(
        target=produce, args=(client, events[BURST:], produced), daemon=True
    )
    producer.start()

    kills = 0
    while kills < MIN_KILLS or not produced.is_set():
        slot = rng.choice(slots)
        slot.wait_until_serving()
        time.sleep(rng.uniform(0.05, 0.6))
        slot.kill()
        kills += 1
        slot.start()
    producer.join()

    deadline = time.monotonic() + 60
    while not drained(client) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [slot.stop() for slot in slots] == [0, 0]

    print(f"kills: {kills}")
    assert drained(client)
    expected_totals = Counter(e.code for e in events)
    expected_days = Counter((e.code, day_field(day_of(e.ts_ms))) for e in events)
    expected_referrers = Counter((e.code, e.referrer_host) for e in events)
    for code in CODES:
        stats = client.hgetall(stats_key(code))
        assert int(stats.pop(TOTAL_CLICKS_FIELD)) == expected_totals[code], code
        assert {day: int(n) for day, n in stats.items()} == {
            day: n for (c, day), n in expected_days.items() if c == code
        }, code
        referrers = client.zrange(referrers_key(code), 0, -1, withscores=True)
        assert {ref: int(n) for ref, n in referrers} == {
            ref: n for (c, ref), n in expected_referrers.items() if c == code
        }, code
        distinct = len({e.visitor_hash for e in events if e.code == code})
        assert abs(client.pfcount(visitors_key(code)) - distinct) <= distinct * 0.03
    assert sum(expected_totals.values()) == EVENTS

    # Entries left pending by a dead consumer were reclaimed by a live one: at least the 50
    # stranded above, plus whatever the random kills caught mid-batch.
    records = [r for slot in slots for r in log_records(slot.log_path)]
    reclaimed = sum(
        int(str(r["count"])) for r in records if r["msg"] == "reclaimed idle click events"
    )
    print(f"reclaimed entries: {reclaimed}")
    assert reclaimed >= 50
    assert not [r for r in records if r["level"] == "error"]
