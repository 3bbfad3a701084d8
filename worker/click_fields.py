"""The parts of a click event the worker needs, read straight from the stream fields.

The tests read whole events with tests.support.click_data.parse_click_event; this reads
the same fields with the same rules and raises ValueError for exactly the events it
refuses, but skips building the frozen ClickEvent, which was most of the worker's per-event
Python time. A property test (tests/unit/test_worker_click_fields.py) holds the two
together, so neither can drift from the other.
"""

from __future__ import annotations

from linkpulse.contract import EVENT_SCHEMA_VERSION, LINK_CREATED_FIELD

# (code, ts_ms, referrer_host, visitor_hash, link_created); a plain tuple, built per event.
ClickFields = tuple[str, int, str, str, str]


def read_click_fields(fields: dict[str, str]) -> ClickFields:
    if fields.get("v") != EVENT_SCHEMA_VERSION:
        raise ValueError(f"unsupported click event version {fields.get('v')!r}")
    try:
        return (
            fields["code"],
            int(fields["ts"]),
            fields.get("ref", ""),
            fields["vh"],
            fields.get(LINK_CREATED_FIELD, ""),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed click event: {exc}") from exc
