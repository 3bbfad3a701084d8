"""The worker's fast field reader must accept and refuse exactly what the contract does."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linkpulse.contract import EVENT_SCHEMA_VERSION, ClickEvent
from tests.support.click_data import parse_click_event
from worker.click_fields import read_click_fields, read_click_pairs

FIELD_NAMES = ("v", "code", "ts", "ref", "ua", "vh", "rid", "lc", "extra")
values = st.one_of(
    st.just(EVENT_SCHEMA_VERSION),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["", " 12 ", "+5", "1_000", "0x10", "1.5", "٣", "abc", "news.example"]),
    st.text(max_size=12),
)
field_dicts = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=len(FIELD_NAMES))
valid_dicts = st.builds(
    ClickEvent,
    code=st.text(max_size=10),
    ts_ms=st.integers(min_value=-(10**15), max_value=10**15),
    referrer_host=st.text(max_size=10),
    ua_class=st.text(max_size=5),
    visitor_hash=st.text(max_size=10),
    request_id=st.text(max_size=5),
    link_created=st.sampled_from(["", "1700000000000"]),
).map(ClickEvent.to_fields)


def contract_reading(fields: dict[str, str]) -> tuple[str, int, str, str, str] | None:
    try:
        event = parse_click_event(fields)
    except ValueError:
        return None
    return (event.code, event.ts_ms, event.referrer_host, event.visitor_hash, event.link_created)


def worker_reading(fields: dict[str, str]) -> tuple[str, int, str, str, str] | None:
    try:
        return read_click_fields(fields)
    except ValueError:
        return None


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(field_dicts, valid_dicts))
@example({})
@example({"v": EVENT_SCHEMA_VERSION, "code": "abc", "ts": "1", "vh": ""})
@example({"v": EVENT_SCHEMA_VERSION, "code": "abc", "ts": "1"})
@example({"v": "2", "code": "abc", "ts": "1", "vh": "x"})
def test_same_verdict_and_values_as_the_contract(fields: dict[str, str]) -> None:
    assert worker_reading(fields) == contract_reading(fields)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_dicts, st.sampled_from(FIELD_NAMES), values | st.none())
def test_same_verdict_for_a_valid_event_with_one_field_changed_or_removed(
    fields: dict[str, str], name: str, value: str | None
) -> None:
    changed = dict(fields)
    if value is None:
        changed.pop(name, None)
    else:
        changed[name] = value
    assert worker_reading(changed) == contract_reading(changed)


def test_refusal_is_a_value_error_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="version"):
        read_click_fields({"v": "9"})
    with pytest.raises(ValueError, match="malformed"):
        read_click_fields({"v": EVENT_SCHEMA_VERSION, "code": "a", "ts": "x", "vh": "h"})


pair_lists = st.lists(st.tuples(st.sampled_from(FIELD_NAMES), values), max_size=10)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(pair_lists, valid_dicts.map(lambda fields: list(fields.items()))))
@example([("v", EVENT_SCHEMA_VERSION), ("code", "a"), ("ts", "1"), ("vh", "h"), ("ts", "x")])
@example([("v", "9"), ("code", "a"), ("ts", "1"), ("vh", "h"), ("v", EVENT_SCHEMA_VERSION)])
def test_reading_in_place_gives_the_dict_readings_verdict_and_values(
    pairs: list[tuple[str, str]],
) -> None:
    """The raw reply's reader and read_click_fields agree, names given twice included (the
    last one counts, as in a dict)."""
    flat = [item for pair in pairs for item in pair]
    assert read_click_pairs(flat) == worker_reading(dict(pairs))


def test_reading_in_place_leaves_an_odd_field_list_to_the_dict_reading() -> None:
    assert read_click_pairs(["v", EVENT_SCHEMA_VERSION, "code"]) is None
