"""Turning a batch of stream entries into calls of the apply script (pure logic).

Parsing and totalling happen here, in Python, so the Lua script does work per link
rather than per event, and a malformed event becomes an entry for the dead-letter stream
(worker.dead_letter) instead of an error that would stall the whole batch. The argument
layout is described in linkpulse/lua/apply_batch.lua.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from linkpulse.contract import (
    CLICK_STREAM,
    LINK_CREATED_AT_FIELD,
    TOTAL_CLICKS_FIELD,
    day_field,
    day_of,
    link_keys,
)
from worker.click_fields import read_click_fields, read_click_pairs

MS_PER_DAY = 86_400_000
# The apply script's first reply element when it applied the call (0: it wrote nothing).
APPLIED = 1

# An entry's fields: as XREADGROUP sends them (name, value, name, value ...: the worker
# reads the reply raw, see Worker.read_batch), or as a dict; None or empty for an entry
# whose data was deleted from the stream while it was pending. The worker's client decodes
# with surrogateescape, so bytes that are not UTF-8 arrive as lone surrogates (and go back
# to Redis byte for byte) instead of raising UnicodeDecodeError inside redis-py.
Fields = list[str] | dict[str, str] | None
StreamEntry = tuple[str, Fields]


@dataclass(frozen=True, slots=True)
class MalformedEntry:
    entry_id: str
    reason: str
    fields: dict[str, str] = field(default_factory=dict)


# (entry id, code, day field, referrer host, visitor hash, link created_at); a plain tuple,
# as it is built per event.
ParsedEntry = tuple[str, str, str, str, str, str]


@dataclass(slots=True)
class ParsedBatch:
    events: list[ParsedEntry] = field(default_factory=list)
    malformed: list[MalformedEntry] = field(default_factory=list)


@dataclass(slots=True)
class LinkTally:
    clicks: int = 0
    days: dict[str, int] = field(default_factory=dict)
    referrers: dict[str, int] = field(default_factory=dict)
    visitors: set[str] = field(default_factory=set)


@dataclass(slots=True)
class BatchCall:
    """KEYS and ARGV for one run of the apply script; `codes` in the order of their keys."""

    keys: list[str]
    args: list[str]
    entry_count: int
    codes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    applied: int = 0
    dropped: int = 0
    skipped: int = 0
    malformed: int = 0

    def __add__(self, other: BatchOutcome) -> BatchOutcome:
        return BatchOutcome(
            applied=self.applied + other.applied,
            dropped=self.dropped + other.dropped,
            skipped=self.skipped + other.skipped,
            malformed=self.malformed + other.malformed,
        )


@lru_cache(maxsize=4096)
def day_field_for_day_number(day_number: int) -> str:
    """The stats field of one UTC day; cached because a batch spans one or two days."""
    return day_field(day_of(day_number * MS_PER_DAY))


def is_utf8(text: str) -> bool:
    """False for text holding surrogate-escaped bytes; isascii() is O(1), the usual case."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_dict(fields: Fields) -> dict[str, str]:
    if isinstance(fields, dict):
        return fields
    pairs = iter(fields or ())
    return dict(zip(pairs, pairs, strict=False))


def parse_entries(entries: Sequence[StreamEntry]) -> ParsedBatch:
    batch = ParsedBatch()
    for entry_id, fields in entries:
        parsed = _read_in_place(entry_id, fields) if isinstance(fields, list) else None
        if parsed is None:
            _parse_as_dict(batch, entry_id, as_dict(fields))
        else:
            batch.events.append(parsed)
    return batch


def _read_in_place(entry_id: str, pairs: list[str]) -> ParsedEntry | None:
    """The usual entry, read without building a dict; None for any entry that
    _parse_as_dict must judge (and give the reason for)."""
    read = read_click_pairs(pairs)
    # All-ASCII in one C call; str keeps lone surrogates apart, so joining loses nothing.
    if read is None or not is_utf8("".join(pairs)):
        return None
    code, ts_ms, referrer_host, visitor_hash, link_created = read
    try:
        day = day_field_for_day_number(ts_ms // MS_PER_DAY)
    except (ValueError, OverflowError, OSError):
        return None
    return (entry_id, code, day, referrer_host, visitor_hash, link_created)


def _parse_as_dict(batch: ParsedBatch, entry_id: str, fields: dict[str, str]) -> None:
    try:
        code, ts_ms, referrer_host, visitor_hash, link_created = read_click_fields(fields)
        day = day_field_for_day_number(ts_ms // MS_PER_DAY)
        if not (is_utf8("".join(fields)) and is_utf8("".join(fields.values()))):
            raise ValueError("a field is not UTF-8")
    # Whatever one entry raises, it is that entry's fault, never the batch's: a poison
    # event that crashed the loop would stop every replica that reads it.
    except Exception as exc:
        reason = "entry data missing from the stream" if not fields else str(exc)
        batch.malformed.append(MalformedEntry(entry_id, reason, fields))
        return
    batch.events.append((entry_id, code, day, referrer_host, visitor_hash, link_created))


def tally_by_link(events: Sequence[ParsedEntry]) -> dict[tuple[str, str], LinkTally]:
    """Totals per (code, link created_at): clicks on a deleted link and on its successor
    under the same alias stay apart, so the script can drop the first and count the second."""
    tallies: dict[tuple[str, str], LinkTally] = {}
    for _, code, day, referrer_host, visitor_hash, link_created in events:
        tally = tallies.get((code, link_created))
        if tally is None:
            tally = tallies[code, link_created] = LinkTally()
        tally.clicks += 1
        tally.days[day] = tally.days.get(day, 0) + 1
        tally.referrers[referrer_host] = tally.referrers.get(referrer_host, 0) + 1
        tally.visitors.add(visitor_hash)
    return tallies


def build_apply_call(
    batch: ParsedBatch, *, group: str, consumer: str, leave_out: Collection[str] = ()
) -> BatchCall:
    """The script call for the batch's events minus the entry ids in `leave_out` (not owned
    any more). Malformed entries are not in it: the dead-letter script acknowledges them."""
    events = [p for p in batch.events if p[0] not in leave_out] if leave_out else batch.events
    entry_ids = [p[0] for p in events]
    keys = [CLICK_STREAM]
    args = [group, consumer, TOTAL_CLICKS_FIELD, LINK_CREATED_AT_FIELD, str(len(entry_ids))]
    args.extend(entry_ids)
    args.append("0")  # the script's malformed count: none of the ids it acknowledges
    tallies = tally_by_link(events)
    for (code, link_created), tally in tallies.items():
        keys.extend(link_keys(code))
        args.extend((link_created, str(tally.clicks), str(len(tally.days))))
        for day, clicks in tally.days.items():
            args.extend((day, str(clicks)))
        args.append(str(len(tally.referrers)))
        for referrer, clicks in tally.referrers.items():
            args.extend((referrer, str(clicks)))
        args.append(str(len(tally.visitors)))
        args.extend(tally.visitors)
    codes = [code for code, _ in tallies]
    return BatchCall(keys=keys, args=args, entry_count=len(entry_ids), codes=codes)


@dataclass(frozen=True, slots=True)
class Applied:
    """The script applied the call; refused_codes are links whose keys had the wrong type."""

    outcome: BatchOutcome
    refused_codes: list[str]


@dataclass(frozen=True, slots=True)
class NotOwned:
    """The script wrote nothing: this consumer no longer owns these entries."""

    entry_ids: list[str]


def read_reply(call: BatchCall, reply: Sequence[object]) -> Applied | NotOwned:
    if reply[0] == APPLIED:
        applied, dropped, malformed = (int(str(value)) for value in reply[1:4])
        refused = cast("list[int]", reply[4])
        return Applied(
            BatchOutcome(applied=applied, dropped=dropped, malformed=malformed),
            [call.codes[int(number) - 1] for number in refused],
        )
    return NotOwned([str(entry_id) for entry_id in cast("list[object]", reply[1])])
