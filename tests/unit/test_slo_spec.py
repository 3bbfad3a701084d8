"""The one SLO spec: what it derives, and that a malformed spec is refused with its reason."""

from __future__ import annotations

import pytest

from slo import SpecError, duration_seconds, load_spec, parse_spec
from web.metrics import LATENCY_BUCKETS

REDIRECT = "/<code>"


def test_shipped_spec_derives_the_redirect_thresholds() -> None:
    spec = load_spec()

    assert spec.error_ratio_limit(REDIRECT) == pytest.approx(0.001)
    assert spec.latency_limit(REDIRECT) == (0.99, 0.1)
    assert [(a.long_window, a.short_window, a.burn_rate) for a in spec.burn_rate_alerts] == [
        ("1h", "5m", 14.4),
        ("6h", "30m", 6),
        ("1d", "2h", 3),
        ("3d", "6h", 1),
    ]


def test_every_latency_threshold_is_a_bucket_of_the_web_histogram() -> None:
    # Otherwise "requests under the threshold" cannot be counted from the histogram exactly.
    for objective in load_spec().objectives:
        if objective.threshold_seconds is not None:
            assert objective.threshold_seconds in LATENCY_BUCKETS, objective.name


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("6h", 21600), ("3d", 259200)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["5", "1h30m", "-5m", "5w", ""])
def test_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(SpecError, match="not a duration"):
        duration_seconds(text)


GOOD = """
budget_days = 30
[[objective]]
name = "a"
description = "d"
kind = "availability"
route = "/x"
target = 0.999
[[burn_rate_alert]]
severity = "page"
long_window = "1h"
short_window = "5m"
burn_rate = 14.4
[deploy_gate]
window = "2m"
min_requests = 10
max_wait = "5m"
"""


def test_a_minimal_spec_parses() -> None:
    assert parse_spec(GOOD).objective("a").error_budget == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("target = 0.999", "target = 1.5"), "between 0 and 1"),
        (('kind = "availability"', 'kind = "speed"'), "availability or latency"),
        (('short_window = "5m"', 'short_window = "2h"'), "shorter than long_window"),
        (("budget_days = 30", ""), "budget_days"),
        (('window = "2m"', 'window = "soon"'), "not a duration"),
        (("min_requests = 10", "min_requests = 10\ncolour = 1"), "colour"),
    ],
)
def test_a_malformed_spec_names_what_is_wrong(change: tuple[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(GOOD.replace(*change))


def test_alerts_need_a_minimum_of_traffic() -> None:
    assert load_spec().alert_min_requests == 100
    # Older specs without the key keep working: no floor.
    assert parse_spec(GOOD).alert_min_requests == 0
    with pytest.raises(SpecError, match="alert_min_requests must be a whole number"):
        parse_spec("alert_min_requests = 'many'\n" + GOOD)
