"""The load test's SLO gates: where each threshold comes from, and how a run is judged."""

from __future__ import annotations

import pytest

from loadtest import gates
from loadtest.names import CREATE, CREATE_INVALID, REDIRECT
from slo import load_spec


def _limit(limits: list[gates.Threshold], request_type: str, metric: str) -> gates.Threshold:
    (found,) = [t for t in limits if t.request_type == request_type and t.metric == metric]
    return found


def test_redirect_p99_and_error_ratio_come_from_the_slo_spec() -> None:
    limits = gates.thresholds({})
    quantile, seconds = load_spec().latency_limit("/<code>")

    assert quantile == 0.99
    p99 = _limit(limits, "redirect", "max_p99_ms")
    assert (p99.limit, p99.source) == (seconds * 1000, "slo/objectives.toml")
    errors = _limit(limits, "redirect", "max_error_ratio")
    assert errors.limit == pytest.approx(load_spec().error_ratio_limit("/<code>"))
    assert errors.source == "slo/objectives.toml"
    assert _limit(limits, "redirect", "min_rps").source == "loadtest/gates.toml"


def test_environment_overrides_per_type_before_all_types() -> None:
    limits = gates.thresholds({"LOADTEST_MAX_P99_MS": "250", "LOADTEST_MAX_P99_MS_REDIRECT": "7"})

    assert _limit(limits, "redirect", "max_p99_ms").limit == 7
    assert _limit(limits, "redirect", "max_p99_ms").source == "LOADTEST_MAX_P99_MS_REDIRECT"
    assert _limit(limits, "create", "max_p99_ms").limit == 250
    assert _limit(limits, "create", "max_p99_ms").source == "LOADTEST_MAX_P99_MS"


def test_an_environment_value_adds_a_gate_the_file_does_not_set() -> None:
    limits = gates.thresholds({"LOADTEST_MIN_RPS_LINK": "3"})

    assert _limit(limits, "link", "min_rps").limit == 3


def test_a_malformed_override_names_the_variable() -> None:
    with pytest.raises(gates.GateConfigError, match="LOADTEST_MAX_P95_MS='fast'"):
        gates.thresholds({"LOADTEST_MAX_P95_MS": "fast"})


def _figures(**changes: float) -> gates.Figures:
    values = {"requests": 1000, "failures": 0, "p95_ms": 20.0, "p99_ms": 40.0, "rps": 500.0}
    values.update(changes)
    return gates.Figures(**values)  # type: ignore[arg-type]


def test_a_run_within_every_limit_passes() -> None:
    results = gates.judge(gates.thresholds({}), {REDIRECT: _figures(), CREATE: _figures()})
    redirect = [r for r in results if r.threshold.request_name == REDIRECT]

    assert all(r.passed for r in redirect)
    assert gates.summary(redirect) == f"gates: {len(redirect)} passed, 0 failed"


@pytest.mark.parametrize(
    ("changes", "metric"),
    [
        ({"p99_ms": 120.0}, "max_p99_ms"),
        ({"failures": 2}, "max_error_ratio"),  # 0.2 % > 0.1 %
        ({"p95_ms": 500.0}, "max_p95_ms"),
    ],
)
def test_one_figure_over_its_limit_fails_that_gate_only(
    changes: dict[str, float], metric: str
) -> None:
    limits = [t for t in gates.thresholds({}) if t.request_name == REDIRECT]

    results = gates.judge(limits, {REDIRECT: _figures(**changes)})

    failed = [r.threshold.metric for r in results if not r.passed]
    assert failed == [metric]
    (line,) = [r.line() for r in results if not r.passed]
    assert line.startswith("gate FAIL redirect")
    assert gates.summary(results).endswith("1 failed")


def test_too_few_requests_per_second_fails_the_rate_gate() -> None:
    limits = [t for t in gates.thresholds({}) if t.request_name == REDIRECT]

    results = gates.judge(limits, {REDIRECT: _figures(rps=0.5)})

    assert [r.threshold.metric for r in results if not r.passed] == ["min_rps"]


def test_a_type_without_requests_fails_its_rate_gate_and_skips_the_rest() -> None:
    limits = [t for t in gates.thresholds({}) if t.request_name in (CREATE, CREATE_INVALID)]

    results = gates.judge(limits, {})

    judged = {(r.threshold.request_name, r.threshold.metric): r.passed for r in results if r.judged}
    assert judged == {(CREATE, "min_rps"): False}
    assert all(r.line().startswith("gate SKIP") for r in results if not r.judged)
    assert gates.summary(results) == "gates: 0 passed, 1 failed"
