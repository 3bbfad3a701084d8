"""Bounded exponential back-off for a Redis that does not answer."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays that double from `base` up to `cap`, with jitter so restarted workers spread out.

    The n-th delay lies in [d/2, d] where d = min(cap, base * 2**n).
    """

    def __init__(
        self,
        base: float = 0.1,
        cap: float = 10.0,
        random_unit: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < base <= cap:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.failures = 0
        self._random_unit = random_unit

    def next_delay(self) -> float:
        # The exponent is bounded so a long outage cannot overflow the float.
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures, 62))
        self.failures += 1
        return ceiling / 2 + self._random_unit() * ceiling / 2

    def reset(self) -> None:
        self.failures = 0
