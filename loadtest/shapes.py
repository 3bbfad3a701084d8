"""The named load shapes, as pure functions of elapsed time: (users, spawn rate) or None to stop.

`LOADTEST_SHAPE` (--shape) picks one; each scales to Locust's users, spawn rate and run time
(LOADTEST_USERS, LOADTEST_SPAWN_RATE, LOADTEST_DURATION). locustfile.py wraps the chosen one in
Locust's own LoadTestShape; `manual` is no shape at all: Locust's UI or -u/-r/-t decide.
  ramp   up to USERS at SPAWN_RATE, hold until DURATION: the everyday gated run.
  step   capacity search: USERS/5 more users every DURATION/5, so the latency knee shows.
  spike  a quarter of USERS, then all of them at once for the middle fifth, then back.
  soak   up to USERS over the first tenth of DURATION, then hold: run it for hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Tick = tuple[int, float] | None
Shape = Callable[[float], Tick]

STEPS = 5


def ramp(users: int, spawn_rate: float, duration_s: float) -> Shape:
    def tick(elapsed: float) -> Tick:
        return None if elapsed >= duration_s else (users, spawn_rate)

    return tick


def step(users: int, spawn_rate: float, duration_s: float) -> Shape:
    step_s = duration_s / STEPS

    def tick(elapsed: float) -> Tick:
        if elapsed >= duration_s:
            return None
        current = min(STEPS, int(elapsed // step_s) + 1)
        return max(1, math.ceil(users * current / STEPS)), spawn_rate

    return tick


def spike(users: int, spawn_rate: float, duration_s: float) -> Shape:
    base = max(1, users // 4)

    def tick(elapsed: float) -> Tick:
        if elapsed >= duration_s:
            return None
        if 0.4 * duration_s <= elapsed < 0.6 * duration_s:
            # A spike arrives at once, whatever the everyday spawn rate says.
            return users, float(max(users, spawn_rate))
        return base, float(max(users, spawn_rate))

    return tick


def soak(users: int, spawn_rate: float, duration_s: float) -> Shape:
    warmup_s = max(1.0, duration_s / 10)
    gentle_rate = max(users / warmup_s, 0.1)

    def tick(elapsed: float) -> Tick:
        if elapsed >= duration_s:
            return None
        return users, min(spawn_rate, gentle_rate)

    return tick


SHAPES: dict[str, Callable[[int, float, float], Shape]] = {
    "ramp": ramp,
    "step": step,
    "spike": spike,
    "soak": soak,
}
MANUAL = "manual"
