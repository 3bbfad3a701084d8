"""Probe traffic for a canary step: evidence for a quiet service, judged apart from its users.

A step decides once each side has min_requests in its window. A quiet service (a first canary
after a fresh VM, a night) never gets there, and every step would end inconclusive. Probes
(deploy/probe.py) go through the public port, so nginx splits them as it splits users: the
canary gets the step's share of them. Their own metric families give each side a second pair of
histograms, judged by the same judge (deploy/canary_judge.py) but never mixed with the users':
a probe's latency says nothing about a user's, and a busy service must be judged by its users.
"""

from __future__ import annotations

from deploy.canary_judge import Side
from deploy.probe import MARGIN, MAX_RATE
from slo.judgement import INCONCLUSIVE, Row, verdict

# A step on probes alone should have MARGIN times its evidence in about this long: at 50 % that
# is 10 probes a second, at 10 % MAX_RATE (about a minute for 100 on the canary's side).
STEP_TARGET_S = 40

USERS, PROBES = "users", "probes"


def users_pace(baseline: Side, canary: Side, window_s: int) -> float:
    """Users' redirects per second, both versions together: the pace the split shares out."""
    return (baseline.requests + canary.requests) / max(window_s, 1)


def probe_rate(pace: float, weight: int, need: int) -> float:
    """Probes per second for a step sending WEIGHT % to the canary, when users at PACE would not
    bring NEED to the smaller side within STEP_TARGET_S; 0 when they would.

    Probes are judged apart, so when users fall short the probes alone must bring NEED: users'
    requests are not subtracted."""
    share = min(weight, 100 - weight) / 100
    if share <= 0 or pace * share * STEP_TARGET_S >= need:
        return 0.0
    return min(MAX_RATE, MARGIN * need / (share * STEP_TARGET_S))


def choose(users: list[Row], probes: list[Row] | None) -> tuple[list[Row], str]:
    """The rows a step decides on and whose they are: users' whenever they decide (pass or
    fail), else probes' when they decide; still the users' (naming their shortfall) when
    neither does."""
    if probes is None or verdict(users) != INCONCLUSIVE:
        return users, USERS
    if verdict(probes) != INCONCLUSIVE:
        return probes, PROBES
    return users, USERS
