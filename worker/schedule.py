"""Periodic chores inside the single worker loop, without threads."""

from __future__ import annotations

import time
from collections.abc import Callable


class Interval:
    """Due once every `seconds`; due immediately the first time."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._next_due = clock()

    def due(self) -> bool:
        now = self._clock()
        if now < self._next_due:
            return False
        self._next_due = now + self.seconds
        return True
