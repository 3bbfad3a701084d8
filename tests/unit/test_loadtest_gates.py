"""The load test's SLO gates: where each threshold comes from, and how a run is judged."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from loadtest import gates
from loadtest.names import CREATE, CREATE_INVALID, REDIRECT, REQUEST_TYPES
from slo import SloSpec, load_spec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "loadtesting.md"


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


def _figures(
    latency_ms: dict[float, float] | None = None,
    requests: int = 1000,
    failures: int = 0,
    rps: float = 500.0,
) -> gates.Figures:
    """Figures of a healthy run; LATENCY_MS changes the times of some quantiles."""
    latency = {0.95: 20.0, 0.99: 40.0, **(latency_ms or {})}
    return gates.Figures(requests=requests, failures=failures, latency_ms=latency, rps=rps)


def test_a_run_within_every_limit_passes() -> None:
    results = gates.judge(gates.thresholds({}), {REDIRECT: _figures(), CREATE: _figures()})
    redirect = [r for r in results if r.threshold.request_name == REDIRECT]

    assert all(r.passed for r in redirect)
    assert gates.summary(redirect) == f"gates: {len(redirect)} passed, 0 failed"


@pytest.mark.parametrize(
    ("changes", "metric"),
    [
        ({"latency_ms": {0.99: 120.0}}, "max_p99_ms"),
        ({"failures": 2}, "max_error_ratio"),  # 0.2 % > 0.1 %
        ({"latency_ms": {0.95: 500.0}}, "max_p95_ms"),
    ],
)
def test_one_figure_over_its_limit_fails_that_gate_only(
    changes: dict[str, Any], metric: str
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


def _spec_with_latency_target(quantile: float) -> SloSpec:
    spec = load_spec()
    objectives = tuple(
        dataclasses.replace(o, target=quantile) if o.name == "redirect_latency" else o
        for o in spec.objectives
    )
    return dataclasses.replace(spec, objectives=objectives)


@pytest.mark.parametrize(
    ("quantile", "metric"),
    [
        (0.9, "max_p90_ms"),
        (0.975, "max_p97.5_ms"),
        (0.999, "max_p99.9_ms"),
        (0.9995, "max_p99.95_ms"),
    ],
)
def test_the_redirect_is_gated_on_whatever_quantile_the_slo_spec_names(
    quantile: float, metric: str
) -> None:
    limits = gates.thresholds({}, spec=_spec_with_latency_target(quantile))
    _, seconds = load_spec().latency_limit("/<code>")

    gate = _limit(limits, "redirect", metric)
    assert (gate.limit, gate.source) == (seconds * 1000, "slo/objectives.toml")
    assert quantile in gates.quantiles(limits)
    (within,) = gates.judge([gate], {REDIRECT: _figures({quantile: seconds * 1000 - 1})})
    (over,) = gates.judge([gate], {REDIRECT: _figures({quantile: seconds * 1000 + 1})})
    assert within.passed
    assert (over.judged, over.passed) == (True, False)


def test_a_quantile_with_a_dot_has_its_own_override() -> None:
    spec = _spec_with_latency_target(0.999)

    limits = gates.thresholds({"LOADTEST_MAX_P99_9_MS_REDIRECT": "300"}, spec=spec)

    gate = _limit(limits, "redirect", "max_p99.9_ms")
    assert (gate.limit, gate.source) == (300, "LOADTEST_MAX_P99_9_MS_REDIRECT")


def test_every_request_type_keeps_its_gates_and_report_order() -> None:
    limits = gates.thresholds({})

    assert [t.request_type for t in limits if t.metric == "max_p95_ms"] == list(REQUEST_TYPES)
    redirect = [t.metric for t in limits if t.request_type == "redirect"]
    assert redirect == ["max_p95_ms", "max_p99_ms", "max_error_ratio", "min_rps"]
    assert len(limits) == 21


def test_figures_are_written_flat() -> None:
    assert _figures({0.999: 70.0}).as_dict() == {
        "requests": 1000,
        "failures": 0,
        "p95_ms": 20.0,
        "p99_ms": 40.0,
        "p99.9_ms": 70.0,
        "rps": 500.0,
    }


def _documented_gate_lines() -> list[str]:
    text = DOCS.read_text()
    block = text.split("A headless run ends with one line per gate", 1)[1].split("```")[1]
    return [line for line in block.splitlines() if line.startswith("gate")]


def test_the_documented_sample_is_what_the_gates_print() -> None:
    env = {"LOADTEST_MAX_P99_MS_REDIRECT": "0.001"}
    limits = gates.thresholds(env)
    healthy = {name: _figures() for name in REQUEST_TYPES.values() if name != CREATE_INVALID}
    failing = gates.judge(limits, {**healthy, REDIRECT: _figures({0.99: 64.0})})
    passing = gates.judge(gates.thresholds({}), {REDIRECT: _figures({0.99: 28.0})})

    printed = {r.line() for r in failing + passing} | {gates.summary(failing)}

    documented = _documented_gate_lines()
    assert len(documented) == 4
    assert set(documented) <= printed, set(documented) - printed
