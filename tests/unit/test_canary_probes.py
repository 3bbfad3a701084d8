"""When a canary step sends probes, how many, and whose requests decide it."""

from __future__ import annotations

from deploy.canary_judge import Side
from deploy.canary_probes import PROBES, STEP_TARGET_S, USERS, choose, probe_rate, users_pace
from deploy.probe import MAX_RATE
from slo.judgement import FAIL, INCONCLUSIVE, PASS, Row


def row(verdict: str) -> Row:
    return Row("canary", "requests", 100, 0, ">= 100", verdict)


def test_users_bringing_the_evidence_in_time_get_no_probes() -> None:
    # 10 % of 30 redirects a second: 3 a second, 120 in the target time.
    assert probe_rate(30.0, 10, 100) == 0.0
    # At 50 % the smaller side gets half: 5 a second are enough.
    assert probe_rate(5.0, 50, 100) == 0.0


def test_a_quiet_step_sends_enough_probes_for_both_sides_on_their_own() -> None:
    # Even with some users: probes are judged apart, so they must bring all of it.
    at_50 = probe_rate(1.0, 50, 100)
    assert at_50 * 0.5 * STEP_TARGET_S >= 100 * 1.5, "the smaller side gets its floor, with margin"
    assert at_50 < MAX_RATE
    assert probe_rate(0.0, 10, 100) == MAX_RATE, "capped: probes judge, they do not load-test"
    assert probe_rate(0.0, 90, 100) == probe_rate(0.0, 10, 100), "the smaller side is the old"


def test_users_pace_counts_both_versions() -> None:
    assert users_pace(Side(180.0, 0.0, []), Side(20.0, 0.0, []), 20) == 10.0


def test_users_decide_whenever_they_can_probes_only_when_users_cannot() -> None:
    users_pass, users_fail, short = [row(PASS)], [row(FAIL)], [row(INCONCLUSIVE)]
    assert choose(users_pass, [row(FAIL)]) == (users_pass, USERS)
    assert choose(users_fail, [row(PASS)]) == (users_fail, USERS)
    assert choose(short, [row(PASS)]) == ([row(PASS)], PROBES)
    assert choose(short, [row(FAIL)]) == ([row(FAIL)], PROBES)
    assert choose(short, [row(INCONCLUSIVE)]) == (short, USERS), "the users' shortfall is named"
    assert choose(short, None) == (short, USERS)
