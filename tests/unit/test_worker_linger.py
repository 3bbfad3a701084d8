"""The linger policy: a short batch waits at most the bound; a full one never waits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from worker.linger import linger_seconds


def test_a_short_batch_waits_the_bound() -> None:
    assert linger_seconds(entries_read=3, batch_size=500, linger_ms=5) == 0.005


def test_a_full_batch_never_waits_since_a_backlog_may_be_waiting() -> None:
    assert linger_seconds(entries_read=500, batch_size=500, linger_ms=5) == 0.0


def test_an_empty_read_never_waits() -> None:
    assert linger_seconds(entries_read=0, batch_size=500, linger_ms=5) == 0.0


def test_a_zero_bound_turns_lingering_off() -> None:
    assert linger_seconds(entries_read=1, batch_size=500, linger_ms=0) == 0.0


@given(
    entries_read=st.integers(min_value=0, max_value=20_000),
    batch_size=st.integers(min_value=1, max_value=10_000),
    linger_ms=st.integers(min_value=0, max_value=1_000),
)
def test_never_more_than_the_bound_and_never_with_a_backlog(
    entries_read: int, batch_size: int, linger_ms: int
) -> None:
    wait = linger_seconds(entries_read, batch_size, linger_ms)
    assert 0.0 <= wait <= linger_ms / 1000
    if entries_read >= batch_size:
        assert wait == 0.0
