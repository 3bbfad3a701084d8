"""The safe XTRIM MINID point and the stream status arithmetic."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.stream_status import StreamStatus, parse_id, safe_trim_point

stream_ids = st.tuples(
    st.integers(min_value=0, max_value=2**48), st.integers(min_value=0, max_value=50)
).map(lambda pair: f"{pair[0]}-{pair[1]}")


def test_ids_compare_numerically_not_as_text() -> None:
    assert parse_id("9-0") < parse_id("10-0")
    assert parse_id("10-2") < parse_id("10-10")
    assert parse_id("5") == (5, 0)


def test_nothing_to_trim_before_the_group_has_read_anything() -> None:
    assert safe_trim_point("0-0", None) is None


def test_everything_up_to_last_delivered_when_nothing_is_pending() -> None:
    assert safe_trim_point("1700-3", None) == "1700-3"


def test_oldest_pending_entry_bounds_the_trim() -> None:
    assert safe_trim_point("1700-3", "1600-0") == "1600-0"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_ids.filter(lambda i: i != "0-0"), st.lists(stream_ids, max_size=20))
def test_trim_point_never_passes_a_pending_or_undelivered_entry(
    last_delivered: str, pending: list[str]
) -> None:
    pending = [p for p in pending if parse_id(p) <= parse_id(last_delivered)]
    oldest = min(pending, key=parse_id) if pending else None

    point = safe_trim_point(last_delivered, oldest)

    assert point is not None
    # XTRIM MINID removes ids strictly below the point.
    assert all(parse_id(p) >= parse_id(point) for p in pending)
    assert parse_id(point) <= parse_id(last_delivered)


def status(oldest_pending: str | None, first_undelivered: str | None) -> StreamStatus:
    return StreamStatus(
        length=10,
        last_delivered_id="5000-0",
        pending=1 if oldest_pending else 0,
        oldest_pending_id=oldest_pending,
        first_undelivered_id=first_undelivered,
        lag=0,
        server_time_ms=10_000,
    )


def test_age_is_zero_when_everything_is_processed() -> None:
    assert status(None, None).oldest_unprocessed_age_seconds() == 0.0


def test_age_comes_from_the_older_of_pending_and_undelivered() -> None:
    assert status("4000-0", "6000-0").oldest_unprocessed_age_seconds() == 6.0
    assert status(None, "7500-1").oldest_unprocessed_age_seconds() == 2.5
    assert status("9000-0", "8000-0").oldest_unprocessed_age_seconds() == 2.0


def test_age_is_never_negative_when_clocks_disagree() -> None:
    assert status(None, "20000-0").oldest_unprocessed_age_seconds() == 0.0
