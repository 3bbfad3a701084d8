"""Bounded exponential back-off and the loop's interval timer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.backoff import Backoff
from worker.schedule import Interval


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.floats(min_value=0.001, max_value=1.0),
    cap=st.floats(min_value=1.0, max_value=60.0),
    unit=st.floats(min_value=0.0, max_value=1.0),
    failures=st.integers(min_value=1, max_value=2000),
)
def test_delays_stay_between_half_and_full_bounded_ceiling(
    base: float, cap: float, unit: float, failures: int
) -> None:
    backoff = Backoff(base=base, cap=cap, random_unit=lambda: unit)
    for attempt in range(failures):
        ceiling = min(cap, base * 2.0 ** min(attempt, 64))
        delay = backoff.next_delay()
        assert ceiling / 2 <= delay <= ceiling
        assert delay <= cap


def test_delays_double_until_the_cap() -> None:
    backoff = Backoff(base=0.1, cap=1.0, random_unit=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(6)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_reset_starts_again_from_base() -> None:
    backoff = Backoff(base=0.1, cap=1.0, random_unit=lambda: 1.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == pytest.approx(0.1)


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=2.0, cap=1.0)


def test_interval_is_due_at_once_then_every_period() -> None:
    now = [100.0]
    interval = Interval(5.0, clock=lambda: now[0])
    assert interval.due()
    assert not interval.due()
    now[0] = 104.9
    assert not interval.due()
    now[0] = 105.0
    assert interval.due()
    assert not interval.due()
