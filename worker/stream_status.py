"""What the consumer group has read and acknowledged, and the safe trim point it implies."""

from __future__ import annotations

from dataclasses import dataclass

NO_ID = "0-0"


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream id as a comparable (milliseconds, sequence) pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One reading of the stream and its group.

    last_delivered_id: the group's last-delivered-id ("0-0" before the first read).
    oldest_pending_id: smallest id delivered but not acknowledged, None when nothing is.
    first_undelivered_id: smallest id not delivered yet, None when the group is caught up.
    lag: entries not delivered yet, as Redis reports it (None when Redis cannot tell).
    """

    length: int
    last_delivered_id: str
    pending: int
    oldest_pending_id: str | None
    first_undelivered_id: str | None
    lag: int | None
    server_time_ms: int

    def oldest_unprocessed_age_seconds(self) -> float:
        """Age of the oldest event not yet acknowledged; 0 when there is none."""
        candidates = [i for i in (self.oldest_pending_id, self.first_undelivered_id) if i]
        if not candidates:
            return 0.0
        oldest_ms = min(parse_id(i)[0] for i in candidates)
        return max(0.0, (self.server_time_ms - oldest_ms) / 1000)


def safe_trim_point(last_delivered_id: str, oldest_pending_id: str | None) -> str | None:
    """The MINID below which every entry has been acknowledged by the group, or None.

    Entries above last-delivered were never delivered; entries at or above the oldest
    pending id may be unacknowledged. Everything strictly below the smaller of the two
    has been acknowledged, and XTRIM MINID removes exactly the ids strictly below it.
    """
    if parse_id(last_delivered_id) == (0, 0):
        return None
    if oldest_pending_id is None:
        return last_delivered_id
    return min(last_delivered_id, oldest_pending_id, key=parse_id)
