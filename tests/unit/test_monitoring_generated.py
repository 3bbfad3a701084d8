"""The committed alert rules and dashboards are exactly what the code generates from the SLO spec
and the alert thresholds, and every threshold is read by something."""

from __future__ import annotations

import pytest

from monitoring import DASHBOARDS_DIR, RULES_DIR
from monitoring.generate import generated_files
from monitoring.thresholds import ThresholdsError, load_thresholds, parse_thresholds, spoken
from slo import load_spec

REGENERATE = "regenerate with `make monitoring` and commit the result"
# The one rule file without thresholds, written by hand.
HAND_WRITTEN = {RULES_DIR / "recording.yml"}


def test_committed_files_match_what_the_spec_and_thresholds_generate() -> None:
    generated = generated_files(load_spec(), load_thresholds())
    committed = {*RULES_DIR.glob("*.yml"), *DASHBOARDS_DIR.glob("*.json")} - HAND_WRITTEN
    assert sorted(committed) == sorted(generated), REGENERATE
    for path, text in generated.items():
        assert path.read_text() == text, f"{path.name}: {REGENERATE}"


def test_every_threshold_is_read_by_a_rule_or_a_panel() -> None:
    thresholds = load_thresholds()
    generated_files(load_spec(), thresholds)
    assert thresholds.unread() == []


def test_a_missing_or_mistyped_threshold_names_its_alert_and_key() -> None:
    thresholds = parse_thresholds('[WorkerLagHigh]\nabove = "many"\nfor = "5 minutes"\n')
    with pytest.raises(ThresholdsError, match=r"\[WorkerLagHigh\] above"):
        thresholds.number("WorkerLagHigh", "above")
    with pytest.raises(ThresholdsError, match=r"\[WorkerLagHigh\] for"):
        thresholds.duration("WorkerLagHigh", "for")
    with pytest.raises(ThresholdsError, match=r"\[WorkerLagHigh\] has no window"):
        thresholds.duration("WorkerLagHigh", "window")


@pytest.mark.parametrize(
    ("duration", "words"),
    [("1m", "a minute"), ("2m", "2 minutes"), ("90s", "90 seconds"), ("1h", "an hour")],
)
def test_durations_read_as_the_descriptions_say_them(duration: str, words: str) -> None:
    assert spoken(duration) == words
