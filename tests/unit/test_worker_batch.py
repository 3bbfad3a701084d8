"""Stream entries -> apply-script arguments, checked by decoding the documented layout."""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkpulse.contract import (
    CLICK_STREAM,
    LINK_CREATED_AT_FIELD,
    TOTAL_CLICKS_FIELD,
    ClickEvent,
    day_field,
    day_of,
    link_key,
    referrers_key,
    stats_key,
    visitors_key,
)
from worker.batch import (
    Applied,
    BatchCall,
    BatchOutcome,
    NotOwned,
    StreamEntry,
    build_apply_call,
    day_field_for_day_number,
    parse_entries,
    read_reply,
)

GROUP, CONSUMER = "aggregators", "consumer-1"
# A loaded CI machine must not turn slowness into failures; speed is for benchmarks.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY_MS = 86_400_000


@dataclass
class DecodedLink:
    keys: tuple[str, ...]
    link_created: str
    clicks: int
    days: dict[str, int] = field(default_factory=dict)
    referrers: dict[str, int] = field(default_factory=dict)
    visitors: list[str] = field(default_factory=list)


@dataclass
class DecodedCall:
    group: str
    consumer: str
    total_field: str
    created_field: str
    entry_ids: list[str]
    malformed: int
    links: list[DecodedLink]


def decode(call: BatchCall) -> DecodedCall:
    """Read KEYS/ARGV the way the Lua script does (layout in linkpulse/lua/apply_batch.lua)."""
    args = iter(call.args)
    group, consumer, total_field = next(args), next(args), next(args)
    created_field = next(args)
    entry_ids = [next(args) for _ in range(int(next(args)))]
    malformed = int(next(args))
    links = []
    for first in range(1, len(call.keys), 4):
        link = DecodedLink(
            keys=tuple(call.keys[first : first + 4]),
            link_created=next(args),
            clicks=int(next(args)),
        )
        for _ in range(int(next(args))):
            day = next(args)
            link.days[day] = int(next(args))
        for _ in range(int(next(args))):
            referrer = next(args)
            link.referrers[referrer] = int(next(args))
        link.visitors = [next(args) for _ in range(int(next(args)))]
        links.append(link)
    assert next(args, None) is None, "arguments left over"
    return DecodedCall(group, consumer, total_field, created_field, entry_ids, malformed, links)


click_events = st.builds(
    ClickEvent,
    code=st.sampled_from(["abc", "xyz", "Q_q-1", "zz9"]),
    ts_ms=st.integers(min_value=0, max_value=4_102_444_800_000),
    referrer_host=st.sampled_from(["", "news.example", "search.example"]),
    ua_class=st.sampled_from(["desktop", "mobile", "bot", "other"]),
    visitor_hash=st.text(alphabet="0123456789abcdef", min_size=0, max_size=8),
    request_id=st.text(max_size=5),
)


def as_entries(events: list[ClickEvent]) -> list[tuple[str, dict[str, str]]]:
    return [(f"{1_700_000_000_000 + n}-0", event.to_fields()) for n, event in enumerate(events)]


@relaxed
@given(st.lists(click_events, min_size=1, max_size=60))
def test_call_carries_per_link_totals_of_every_event(events: list[ClickEvent]) -> None:
    entries = as_entries(events)
    call = build_apply_call(parse_entries(entries), group=GROUP, consumer=CONSUMER)
    decoded = decode(call)

    assert call.keys[0] == CLICK_STREAM
    assert call.keys[1::4] == [link_key(code) for code in call.codes]
    assert (decoded.group, decoded.consumer) == (GROUP, CONSUMER)
    assert decoded.total_field == TOTAL_CLICKS_FIELD
    assert decoded.created_field == LINK_CREATED_AT_FIELD
    assert sorted(decoded.entry_ids) == sorted(entry_id for entry_id, _ in entries)
    assert decoded.malformed == 0
    by_code = {link.keys[0]: link for link in decoded.links}
    assert set(by_code) == {link_key(e.code) for e in events}
    for code in {e.code for e in events}:
        link = by_code[link_key(code)]
        mine = [e for e in events if e.code == code]
        assert link.keys == (
            link_key(code),
            stats_key(code),
            referrers_key(code),
            visitors_key(code),
        )
        assert link.clicks == len(mine)
        assert link.days == Counter(day_field(day_of(e.ts_ms)) for e in mine)
        assert link.referrers == Counter(e.referrer_host for e in mine)
        assert set(link.visitors) == {e.visitor_hash for e in mine}


@relaxed
@given(st.lists(click_events, min_size=1, max_size=40), st.data())
def test_left_out_entries_are_neither_acked_nor_counted(
    events: list[ClickEvent], data: st.DataObject
) -> None:
    entries = as_entries(events)
    leave_out = set(data.draw(st.lists(st.sampled_from([e for e, _ in entries]), unique=True)))
    call = build_apply_call(
        parse_entries(entries), group=GROUP, consumer=CONSUMER, leave_out=leave_out
    )
    decoded = decode(call)

    kept = [entry_id for entry_id, _ in entries if entry_id not in leave_out]
    assert call.entry_count == len(kept) == len(decoded.entry_ids)
    assert not leave_out & set(decoded.entry_ids)
    assert sum(link.clicks for link in decoded.links) == len(kept)


def test_clicks_on_two_links_under_one_code_are_tallied_apart() -> None:
    earlier = ClickEvent("abc", 1_700_000_000_000, "", "desktop", "v1", "r1", "100")
    later = ClickEvent("abc", 1_700_000_100_000, "", "desktop", "v2", "r2", "200")
    decoded = decode(
        build_apply_call(
            parse_entries(as_entries([earlier, earlier, later])), group=GROUP, consumer=CONSUMER
        )
    )
    assert [(link.link_created, link.clicks) for link in decoded.links] == [("100", 2), ("200", 1)]
    assert {link.keys[0] for link in decoded.links} == {link_key("abc")}


def test_malformed_entries_are_set_aside_for_the_dead_letter_stream() -> None:
    good = ClickEvent("abc", 1_700_000_000_000, "", "desktop", "v1", "r1").to_fields()
    not_utf8 = {**good, "ref": "caf\udce9.example"}  # b"caf\xe9" read with surrogateescape
    entries = [
        ("1-0", good),
        ("2-0", {**good, "v": "99"}),
        ("3-0", {k: v for k, v in good.items() if k != "vh"}),
        ("4-0", {**good, "ts": "yesterday"}),
        ("5-0", {}),
        ("6-0", {**good, "ts": str(10**20)}),
        ("7-0", not_utf8),
        ("8-0", {**good, "\udcff": "x"}),
    ]
    batch = parse_entries(entries)
    decoded = decode(build_apply_call(batch, group=GROUP, consumer=CONSUMER))

    assert [m.entry_id for m in batch.malformed] == [
        "2-0",
        "3-0",
        "4-0",
        "5-0",
        "6-0",
        "7-0",
        "8-0",
    ]
    assert "missing" in batch.malformed[3].reason
    assert "UTF-8" in batch.malformed[5].reason
    assert batch.malformed[5].fields == not_utf8
    assert decoded.entry_ids == ["1-0"]
    assert decoded.malformed == 0
    assert [link.clicks for link in decoded.links] == [1]


def test_entries_as_xreadgroup_sends_them_parse_as_their_dicts_do() -> None:
    """The worker reads XREADGROUP raw (flat name/value lists, None for deleted data)."""
    good = ClickEvent("abc", 1_700_000_000_000, "", "desktop", "v1", "r1", "100").to_fields()
    dicts: list[dict[str, str]] = [
        good,
        {**good, "v": "99"},
        {**good, "ts": "yesterday"},
        {**good, "ts": str(10**20)},
        {**good, "ref": "caf\udce9.example"},
        {**good, "\udcff": "x"},
        {},
    ]
    as_dicts = [(f"{number}-0", fields) for number, fields in enumerate(dicts)]
    as_sent: list[StreamEntry] = [
        (entry_id, [item for pair in fields.items() for item in pair] or None)
        for entry_id, fields in as_dicts
    ]
    assert parse_entries(as_sent) == parse_entries(as_dicts)
    assert len(parse_entries(as_sent).events) == 1


def test_non_ascii_utf8_fields_are_valid() -> None:
    fields = ClickEvent(
        "abc", 1_700_000_000_000, "bücher.example", "desktop", "v1", "r"
    ).to_fields()
    assert parse_entries([("1-0", fields)]).malformed == []


def test_left_out_entries_are_not_in_the_call() -> None:
    good = ClickEvent("abc", 1_700_000_000_000, "", "desktop", "v1", "r1").to_fields()
    batch = parse_entries([("1-0", good), ("2-0", good)])
    decoded = decode(build_apply_call(batch, group=GROUP, consumer=CONSUMER, leave_out={"1-0"}))
    assert (decoded.entry_ids, decoded.malformed) == (["2-0"], 0)


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_cached_day_field_matches_the_contract(ts_ms: int) -> None:
    assert day_field_for_day_number(ts_ms // DAY_MS) == day_field(day_of(ts_ms))


def test_reply_applied_names_refused_links_by_code() -> None:
    call = BatchCall(keys=[], args=[], entry_count=8, codes=["abc", "xyz", "q1"])
    assert read_reply(call, [1, 5, 3, 0, [2, 3]]) == Applied(
        BatchOutcome(applied=5, dropped=3), ["xyz", "q1"]
    )


def test_reply_not_owned_lists_the_ids() -> None:
    call = BatchCall(keys=[], args=[], entry_count=2)
    assert read_reply(call, [0, ["1-0", "2-0"]]) == NotOwned(["1-0", "2-0"])


def test_outcomes_add_up() -> None:
    total = BatchOutcome(1, 2, 3, 4) + BatchOutcome(skipped=1)
    assert total == BatchOutcome(1, 2, 4, 4)
    assert sum(astuple(total)) == 11
