"""How long the worker waits for more events before applying a short batch (pure logic).

Under redirect load the stream gets a few events per millisecond, so a read that returns as
soon as anything arrives hands the worker batches of one or two, and the fixed cost of each
batch (the script call and its round trip, redis-py's per-command work, the metrics) is
paid per event. Waiting a few milliseconds for the rest of a burst makes the batches larger
at a bounded price in analytics lag. A full read means a backlog may be waiting: that batch
is applied at once, and nothing is ever added to the lag of a backlog.
"""

from __future__ import annotations


def linger_seconds(entries_read: int, batch_size: int, linger_ms: int) -> float:
    """The wait before topping up a batch of entries_read: never more than linger_ms, and
    none for an empty read (nothing to apply yet) or a full one (a backlog may be waiting)."""
    if linger_ms <= 0 or entries_read <= 0 or entries_read >= batch_size:
        return 0.0
    return linger_ms / 1000
