"""deploy/probe.py's pure logic: the probes' pace, which evidence decides, and a whole check
against scripted Prometheus answers (users' and probes' series told apart by metric name)."""

from __future__ import annotations

import math

import pytest

from deploy.gate import PROBES, USERS, Figures, Limits, queries, run_gate
from deploy.probe import MAX_RATE, decide, probe_rate, probed_reading
from linkpulse.probe import is_probe
from rehearsal import quiet

SHA = "a" * 40
LIMITS = Limits(
    error_ratio=0.001, quantile=0.99, latency_s=0.1, min_requests=150, window_s=45, max_wait_s=180
)


def test_a_quiet_service_gets_probes_at_twice_the_pace_of_its_shortfall() -> None:
    assert probe_rate(0, 10, LIMITS) == pytest.approx(2 * 150 / 45)
    # 15 users' requests in 15 s project to 45 in the window: probes make up the other 105.
    assert probe_rate(15, 15, LIMITS) == pytest.approx(2 * 105 / 45)


def test_a_busy_service_gets_no_probes() -> None:
    assert probe_rate(100, 10, LIMITS) == 0.0  # 450 projected over the window
    assert probe_rate(150, 200, LIMITS) == 0.0  # past the window: the count is a window's


def test_the_pace_is_capped() -> None:
    huge = Limits(0.001, 0.99, 0.1, min_requests=100_000, window_s=60, max_wait_s=600)
    assert probe_rate(0, 5, huge) == MAX_RATE


def test_users_decide_when_they_are_enough_even_if_probes_disagree() -> None:
    users, probes = Figures(500, 0, 0.02), Figures(400, 0, 0.4)
    verdict, evidence = decide(users, probes, LIMITS, 50)
    assert (verdict.decided, verdict.passed, evidence) == (True, True, users)
    assert "probe" not in verdict.reason


def test_probes_decide_a_quiet_service_and_say_so() -> None:
    verdict, evidence = decide(Figures(3, 0, 0.01), Figures(200, 0, 0.02), LIMITS, 50)
    assert (verdict.decided, verdict.passed, evidence.requests) == (True, True, 200)
    assert verdict.reason == "SLO check passed (on probe requests: users brought 3)"


def test_a_slow_release_fails_on_probes_alone() -> None:
    verdict, _ = decide(Figures(0, 0, math.nan), Figures(200, 0, 0.31), LIMITS, 50)
    assert (verdict.decided, verdict.passed) == (True, False)
    assert verdict.reason.startswith("SLO check failed: p99 310 ms > 100 ms (on probe requests")


def test_a_failing_release_fails_on_probes_before_the_window_ends() -> None:
    verdict, _ = decide(Figures(0, 0, math.nan), Figures(160, 10, 0.02), LIMITS, 20)
    assert (verdict.decided, verdict.passed) == (True, False)
    assert "error ratio" in verdict.reason


def test_too_few_of_either_waits_then_names_both_counts() -> None:
    waiting, _ = decide(Figures(10, 0, 0.01), Figures(40, 0, 0.01), LIMITS, 60)
    assert not waiting.decided
    undecided, _ = decide(Figures(10, 0, 0.01), Figures(40, 0, 0.01), LIMITS, 181)
    assert (undecided.decided, undecided.passed) == (True, False)
    assert undecided.reason.startswith("SLO check undecided: 10 users' and 40 probe requests")


class FakeLoad:
    """Stands in for ProbeLoad: records the pace the check asks for."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.sent = 0

    def set_rate(self, per_s: float) -> None:
        self.rates.append(per_s)
        self.sent += int(per_s * 5)


def test_a_quiet_first_deploy_is_judged_by_probes_within_a_window() -> None:
    """Users bring nothing; the probes' series grows each round; the check passes on them once a
    full window has passed, having asked for probes throughout."""
    users_q = queries(SHA, "/<code>", LIMITS.window_s, LIMITS.quantile, USERS)
    probes_q = queries(SHA, "/<code>", LIMITS.window_s, LIMITS.quantile, PROBES)
    assert users_q["requests"] != probes_q["requests"]
    assert "linkpulse_probe_request_duration_seconds_bucket" in probes_q["latency"]
    rounds = iter([0.0, 80.0, 160.0, 240.0])
    probe_count = 0.0

    def query(expr: str) -> float:
        nonlocal probe_count
        if expr == probes_q["requests"]:
            probe_count = next(rounds)
        answers = {
            users_q["requests"]: math.nan,
            users_q["errors"]: math.nan,
            users_q["latency"]: math.nan,
            probes_q["requests"]: probe_count,
            probes_q["errors"]: 0.0,
            probes_q["latency"]: 0.02,
        }
        return answers[expr]

    load = FakeLoad()
    # Each round is 20 s later: the scripted clock is the poll, run with no sleep.
    elapsed = iter([0.0, 20.0, 40.0, 60.0])
    reading = probed_reading(SHA, "/<code>", LIMITS, load)  # type: ignore[arg-type]
    verdict, figures, readings = run_gate(
        query,
        SHA,
        "/<code>",
        LIMITS,
        lambda _: None,
        poll_s=0,
        reading=lambda q, _: reading(q, next(elapsed)),
    )
    assert verdict.passed
    assert "on probe requests" in verdict.reason
    assert figures.requests == 240
    assert [r["evidence"] for r in readings] == ["users", "users", "probes", "probes"]
    assert all(rate == pytest.approx(2 * 150 / 45) for rate in load.rates)


@pytest.mark.parametrize(
    ("value", "probe"),
    [("0123456789abcdef", True), (None, False), ("", False), ("0123456789ABCDEF", False),
     ("0123456789abcdef0", False), ("yes", False)],
)  # fmt: skip
def test_only_a_token_shaped_header_marks_a_probe(value: str | None, probe: bool) -> None:
    assert is_probe(value) is probe


def test_the_rehearsal_reads_a_quiet_deploys_verdict_and_probe_count() -> None:
    failed = quiet.read(
        "==> SLO check of the new version\n"
        "    gate   45s/45s: 0 requests (need 150) | probes 212 requests, sending 6.7/s\n"
        "    probes: 301 sent (0 failed) in 47s on 4 probe links, all deleted\n"
        "    FAILED in 'SLO check of the new version': SLO check failed: p99 495 ms > 100 ms"
        " (on probe requests: users brought 0)\n"
        "deploy: error: SLO check failed: p99 495 ms > 100 ms (on probe requests: users brought 0)",
        61.2,
        0,
    )
    assert (failed.probe_requests, failed.check_seconds, failed.deploy_seconds) == (301, 47, None)
    assert failed.verdict == (
        "SLO check failed: p99 495 ms > 100 ms (on probe requests: users brought 0)"
    )
    assert failed.judged_on_probes
    passed = quiet.read(
        "    SLO check passed: 812 requests judged\n    deploy of 0123456789ab done in 1m12.5s",
        90,
        9,
    )
    assert not passed.judged_on_probes
    assert passed.deploy_seconds == 72.5
