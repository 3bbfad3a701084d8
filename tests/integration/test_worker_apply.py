"""The apply path against a real Redis: aggregates, deleted links, malformed and refused events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import redis

from linkpulse.contract import (
    CLICK_STREAM,
    DEAD_LETTER_ID_FIELD,
    DEAD_LETTER_REASON_FIELD,
    DEAD_LETTER_STREAM,
    TOTAL_CLICKS_FIELD,
    ClickEvent,
    day_field,
    link_key,
    referrers_key,
    stats_key,
    visitors_key,
)
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.worker_harness import drain, make_worker, pending_count
from worker.batch import BatchOutcome
from worker.worker import Worker

pytestmark = pytest.mark.integration

DAY_1 = int(datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
DAY_2 = int(datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC).timestamp() * 1000)


def click(code: str, ts_ms: int = DAY_2, referrer: str = "", visitor: str = "v1") -> ClickEvent:
    return ClickEvent(code, ts_ms, referrer, "desktop", visitor, "req")


def counter_value(worker: Worker, outcome: str) -> float:
    value = worker.metrics.registry.get_sample_value(
        "linkpulse_worker_events_processed_total", {"outcome": outcome}
    )
    return 0.0 if value is None else value


def test_aggregates_of_a_known_event_set(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["alpha", "beta"])
    append_events(
        client,
        [
            click("alpha", DAY_1, "", "v1"),
            click("alpha", DAY_1, "news.example", "v2"),
            click("alpha", DAY_1, "news.example", "v1"),
            click("alpha", DAY_2, "search.example", "v3"),
            click("beta", DAY_2, "news.example", "v9"),
            click("beta", DAY_2, "news.example", "v9"),
        ],
    )
    worker = make_worker(redis_url)

    outcome = drain(worker)

    assert outcome == BatchOutcome(applied=6)
    assert client.hgetall(stats_key("alpha")) == {
        TOTAL_CLICKS_FIELD: "4",
        day_field("2026-11-24"): "3",
        day_field("2026-11-25"): "1",
    }
    assert client.hgetall(stats_key("beta")) == {
        TOTAL_CLICKS_FIELD: "2",
        day_field("2026-11-25"): "2",
    }
    assert client.zrange(referrers_key("alpha"), 0, -1, withscores=True) == [
        ("", 1.0),
        ("search.example", 1.0),
        ("news.example", 2.0),
    ]
    assert client.zrange(referrers_key("beta"), 0, -1, withscores=True) == [("news.example", 2.0)]
    assert client.pfcount(visitors_key("alpha")) == 3
    assert client.pfcount(visitors_key("beta")) == 1
    assert pending_count(client) == 0
    assert counter_value(worker, "applied") == 6


def test_batches_larger_than_the_scripts_unpack_chunk(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["big"])
    append_events(client, [click("big", visitor=f"visitor-{n}") for n in range(2_500)])
    worker = make_worker(redis_url, batch_size=2_500)

    assert drain(worker) == BatchOutcome(applied=2_500)
    assert client.hget(stats_key("big"), TOTAL_CLICKS_FIELD) == "2500"
    # HyperLogLog: about 1 % standard error.
    assert 2_400 <= client.pfcount(visitors_key("big")) <= 2_600
    assert pending_count(client) == 0


def test_events_of_a_deleted_link_are_acked_as_dropped(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["kept"])
    append_events(client, [click("gone"), click("kept"), click("gone")])
    worker = make_worker(redis_url)

    assert drain(worker) == BatchOutcome(applied=1, dropped=2)
    for key in (stats_key("gone"), referrers_key("gone"), visitors_key("gone")):
        assert not client.exists(key)
    assert client.hget(stats_key("kept"), TOTAL_CLICKS_FIELD) == "1"
    assert pending_count(client) == 0
    assert counter_value(worker, "dropped") == 2


def test_clicks_on_a_deleted_link_do_not_count_for_the_next_link_under_its_alias(
    redis_url: str,
) -> None:
    client = connect(redis_url)
    client.hset(link_key("reused"), mapping={"url": "https://a.example/", "created_at": "100"})
    old_click = ClickEvent("reused", DAY_2, "", "desktop", "v1", "req", link_created="100")
    append_events(client, [old_click, old_click, old_click])
    client.delete(link_key("reused"))
    client.hset(link_key("reused"), mapping={"url": "https://b.example/", "created_at": "200"})
    new_click = ClickEvent("reused", DAY_2, "", "desktop", "v2", "req", link_created="200")
    append_events(client, [new_click])

    assert drain(make_worker(redis_url)) == BatchOutcome(applied=1, dropped=3)
    assert client.hget(stats_key("reused"), TOTAL_CLICKS_FIELD) == "1"
    assert client.pfcount(visitors_key("reused")) == 1
    assert pending_count(client) == 0


def test_an_expiring_links_aggregates_expire_with_it(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["brief", "lasting"])
    expires_at_ms = int(datetime.now(UTC).timestamp() * 1000) + 3_600_000
    client.pexpireat(link_key("brief"), expires_at_ms)
    append_events(client, [click("brief", referrer="a.example"), click("lasting")])

    assert drain(make_worker(redis_url)) == BatchOutcome(applied=2)
    for key in (stats_key("brief"), referrers_key("brief"), visitors_key("brief")):
        assert client.pexpiretime(key) == expires_at_ms
    for key in (stats_key("lasting"), referrers_key("lasting"), visitors_key("lasting")):
        assert client.pexpiretime(key) == -1


def raw_client(redis_url: str) -> redis.Redis:
    """No decoding at all: what an operator (or a broken producer) sees and writes."""
    return redis.Redis.from_url(redis_url)


def dead_letters(redis_url: str) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in raw_client(redis_url).xrange(DEAD_LETTER_STREAM)]


def test_malformed_events_are_dead_lettered_counted_and_logged(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = connect(redis_url)
    create_links(client, ["ok"])
    good_id = append_events(client, [click("ok")])[0]
    bad_version = client.xadd(CLICK_STREAM, {**click("ok").to_fields(), "v": "42"})
    bad_ts = client.xadd(CLICK_STREAM, {**click("ok").to_fields(), "ts": "noon"})
    worker = make_worker(redis_url)

    with caplog.at_level(logging.WARNING):
        outcome = drain(worker)

    assert outcome == BatchOutcome(applied=1, malformed=2)
    assert client.hget(stats_key("ok"), TOTAL_CLICKS_FIELD) == "1"
    assert pending_count(client) == 0
    assert counter_value(worker, "malformed") == 2
    logged = {r.entry_id for r in caplog.records if r.getMessage().startswith("malformed")}  # type: ignore[attr-defined]
    assert logged == {bad_version, bad_ts}
    assert good_id not in logged
    copies = client.xrange(DEAD_LETTER_STREAM)
    assert [fields[DEAD_LETTER_ID_FIELD] for _, fields in copies] == [bad_version, bad_ts]
    assert copies[0][1]["v"] == "42"
    assert "version" in copies[0][1][DEAD_LETTER_REASON_FIELD]
    assert copies[1][1]["ts"] == "noon"


def test_a_non_utf8_event_is_dead_lettered_byte_for_byte_and_the_events_behind_it_count_once(
    redis_url: str,
) -> None:
    """Review finding 3: one byte that is not UTF-8 used to crash every replica that read it."""
    client = connect(redis_url)
    create_links(client, ["ok"])
    append_events(client, [click("ok")])
    poison = {**click("ok").to_fields(), "ref": "caf\xe9.example"}
    raw = {name.encode(): value.encode("latin-1") for name, value in poison.items()}
    poison_id = raw_client(redis_url).xadd(CLICK_STREAM, raw).decode()  # type: ignore[union-attr]
    append_events(client, [click("ok"), click("ok", visitor="v2")])
    worker = make_worker(redis_url)

    assert drain(worker) == BatchOutcome(applied=3, malformed=1)
    assert drain(worker) == BatchOutcome()

    assert client.hget(stats_key("ok"), TOTAL_CLICKS_FIELD) == "3"
    assert pending_count(client) == 0
    [copy] = dead_letters(redis_url)
    assert copy[DEAD_LETTER_ID_FIELD.encode()] == poison_id.encode()
    assert b"UTF-8" in copy[DEAD_LETTER_REASON_FIELD.encode()]
    assert {k: v for k, v in copy.items() if not k.startswith(b"dead_letter_")} == raw


def test_a_reclaimed_bad_event_is_dead_lettered_once(redis_url: str) -> None:
    """The slow consumer that lost the entry to a reclaim writes no second copy."""
    client = connect(redis_url)
    client.xadd(CLICK_STREAM, {"v": "0"})
    slow = make_worker(redis_url, "slow", past_own_pending=True)
    taken = slow.read_batch(block_ms=50)
    fast = make_worker(redis_url, "fast", past_own_pending=True)

    fast.reclaim(min_idle_ms=0)

    assert slow.apply(taken) == BatchOutcome(skipped=1)
    assert len(client.xrange(DEAD_LETTER_STREAM)) == 1
    assert pending_count(client) == 0


def test_a_worker_refuses_a_client_that_would_crash_on_bytes_that_are_not_utf8(
    redis_url: str,
) -> None:
    with pytest.raises(ValueError, match="surrogateescape"):
        Worker(connect(redis_url), consumer_name="strict")


@pytest.mark.parametrize(
    "damage",
    [
        lambda client: client.set(stats_key("broken"), "not a hash"),
        lambda client: client.set(referrers_key("broken"), "not a sorted set"),
        lambda client: client.set(visitors_key("broken"), "not a HyperLogLog"),
        lambda client: client.rpush(visitors_key("broken"), "a list"),
    ],
)
def test_a_link_with_damaged_keys_is_refused_without_half_counting_its_batch(
    redis_url: str, damage: Callable[[redis.Redis], object], caplog: pytest.LogCaptureFixture
) -> None:
    """Redis does not roll back a failed script, so nothing may fail after a write."""
    client = connect(redis_url)
    create_links(client, ["fine", "broken", "late"])
    damage(client)
    append_events(client, [click("fine"), click("broken"), click("late"), click("fine")])
    worker = make_worker(redis_url)

    with caplog.at_level(logging.ERROR):
        assert drain(worker) == BatchOutcome(applied=3, dropped=1)

    assert client.hget(stats_key("fine"), TOTAL_CLICKS_FIELD) == "2"
    assert client.hget(stats_key("late"), TOTAL_CLICKS_FIELD) == "1"
    assert pending_count(client) == 0
    assert [r.codes for r in caplog.records if hasattr(r, "codes")] == [["broken"]]


def test_applying_the_same_entries_twice_counts_them_once(redis_url: str) -> None:
    """What a client-side retry of a call whose reply was lost would do."""
    client = connect(redis_url)
    create_links(client, ["once"])
    append_events(client, [click("once"), click("once")])
    worker = make_worker(redis_url)
    worker.read_batch()
    entries = worker.read_batch(block_ms=50)

    assert worker.apply(entries) == BatchOutcome(applied=2)
    assert worker.apply(entries) == BatchOutcome(skipped=2)
    assert client.hget(stats_key("once"), TOTAL_CLICKS_FIELD) == "2"


def test_a_restarted_consumer_first_finishes_what_it_already_held(redis_url: str) -> None:
    client = connect(redis_url)
    create_links(client, ["resume"])
    append_events(client, [click("resume") for _ in range(5)])
    crashed = make_worker(redis_url, name="pod-1", batch_size=3)
    crashed.read_batch()
    held = crashed.read_batch(block_ms=50)  # read, then "killed" before applying
    assert len(held) == 3

    restarted = make_worker(redis_url, name="pod-1", batch_size=3)
    first = restarted.read_batch()

    assert [entry_id for entry_id, _ in first] == [entry_id for entry_id, _ in held]
    restarted.process(first)
    assert drain(restarted) == BatchOutcome(applied=2)
    assert client.hget(stats_key("resume"), TOTAL_CLICKS_FIELD) == "5"
    assert pending_count(client) == 0
