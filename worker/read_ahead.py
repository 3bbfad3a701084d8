"""Reading the next batch on a helper thread while the loop applies the current one.

A batch costs Python time (parsing the reply and the events) and Redis time (running the
apply script). Done one after the other, the client and Redis take turns on a small
machine's cores; reading and parsing the next batch while the script runs lets them work
at once. Only the read happens on the thread: every write (the apply script, claims,
trims) stays on the worker loop, and the ownership check in the script keeps any
overlap between reads and applies safe.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

ResultT = TypeVar("ResultT")


class ReadAhead(Generic[ResultT]):
    """At most one read in flight; `take` returns it, or reads now if none was started."""

    def __init__(self, read: Callable[[], ResultT]) -> None:
        self._read = read
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._in_flight: Future[ResultT] | None = None

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    def start(self) -> None:
        if self._in_flight is None:
            self._in_flight = self._pool.submit(self._read)

    def take(self) -> ResultT:
        """The started read's result (its exception, if it failed), else a read right now."""
        if self._in_flight is None:
            return self._read()
        future, self._in_flight = self._in_flight, None
        return future.result()

    def abandon(self) -> None:
        """Wait for a started read and forget it, including its error.

        Whatever it delivered stays pending for this consumer and is read again from
        the consumer's own pending entries.
        """
        if self._in_flight is not None:
            future, self._in_flight = self._in_flight, None
            future.exception()

    def close(self) -> None:
        self.abandon()
        self._pool.shutdown(wait=True)
