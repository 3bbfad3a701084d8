"""The parts of a click event the worker needs, read straight from the stream fields.

The tests read whole events with tests.support.click_data.parse_click_event; this reads
the same fields with the same rules and raises ValueError for exactly the events it
refuses, but skips building the frozen ClickEvent, which was most of the worker's per-event
Python time. A property test (tests/unit/test_worker_click_fields.py) holds the two
together, so neither can drift from the other.
"""

from __future__ import annotations

from functools import lru_cache

from linkpulse.contract import EVENT_SCHEMA_VERSION, LINK_CREATED_FIELD

# (code, ts_ms, referrer_host, visitor_hash, link_created); a plain tuple, built per event.
ClickFields = tuple[str, int, str, str, str]
# Where read_click_pairs finds v, code, ts, ref, vh and link_created in a flat field list
# (None: the field is absent).
Positions = tuple[int, int, int, int | None, int, int | None]


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


@lru_cache(maxsize=256)
def _positions(names: tuple[str, ...]) -> Positions | None:
    """The value positions for entries whose field names are `names`, in that order; None
    when a required field is missing. A name given twice counts its last value, as a dict
    built from the pairs would. Cached: nearly every entry has the layout web writes."""
    where = {name: 2 * number + 1 for number, name in enumerate(names)}
    try:
        return (where["v"], where["code"], where["ts"], where.get("ref"), where["vh"],
                where.get(LINK_CREATED_FIELD))  # fmt: skip
    except KeyError:
        return None


def read_click_pairs(pairs: list[str]) -> ClickFields | None:
    """read_click_fields for the fields as XREADGROUP sends them (name, value, name, ...),
    without building a dict per entry; None for any entry that read_click_fields might
    refuse, so that the caller asks it for the reason."""
    positions = _positions(tuple(pairs[0::2])) if len(pairs) % 2 == 0 else None
    if positions is None:
        return None
    v, code, ts, ref, vh, link_created = positions
    if pairs[v] != EVENT_SCHEMA_VERSION:
        return None
    try:
        ts_ms = int(pairs[ts])
    except ValueError:
        return None
    return (
        pairs[code],
        ts_ms,
        "" if ref is None else pairs[ref],
        pairs[vh],
        "" if link_created is None else pairs[link_created],
    )
