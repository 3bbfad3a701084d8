"""SLO gates of a load test: thresholds from the SLO spec, gates.toml and the environment.

Pure logic: `thresholds()` decides what each request type must meet, `judge()` compares a run's
figures with them. locustfile.py feeds it Locust's stats when the run ends and sets the exit code.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from linkpulse.routes import REDIRECT_ROUTE
from slo import load_spec

# name of the metric -> environment variable stem, and how the figure is compared.
METRICS = {
    "max_p95_ms": "LOADTEST_MAX_P95_MS",
    "max_p99_ms": "LOADTEST_MAX_P99_MS",
    "max_error_ratio": "LOADTEST_MAX_ERROR_RATIO",
    "min_rps": "LOADTEST_MIN_RPS",
}


class GateConfigError(ValueError):
    """A threshold is malformed; str() names the variable or file."""


@dataclass(frozen=True)
class Threshold:
    request_type: str
    request_name: str
    metric: str
    limit: float
    source: str


@dataclass(frozen=True)
class Figures:
    """What a run measured for one request type."""

    requests: int
    failures: int
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def value(self, metric: str) -> float:
        return {
            "max_p95_ms": self.p95_ms,
            "max_p99_ms": self.p99_ms,
            "max_error_ratio": self.error_ratio,
            "min_rps": self.rps,
        }[metric]


@dataclass(frozen=True)
class GateResult:
    threshold: Threshold
    value: float | None

    @property
    def judged(self) -> bool:
        return self.value is not None

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        if self.threshold.metric.startswith("min_"):
            return self.value >= self.threshold.limit
        return self.value <= self.threshold.limit

    def line(self) -> str:
        t = self.threshold
        label = t.metric.removeprefix("max_").removeprefix("min_")
        relation = ">=" if t.metric.startswith("min_") else "<="
        shown = "no requests" if self.value is None else _format(t.metric, self.value)
        verdict = "SKIP" if not self.judged else "PASS" if self.passed else "FAIL"
        return (
            f"gate {verdict} {t.request_type} {label}: {shown} (limit {relation} "
            f"{_format(t.metric, t.limit)}, {t.source})"
        )


def _format(metric: str, value: float) -> str:
    if metric.endswith("_ms"):
        return f"{value:.0f} ms" if value >= 1 else f"{value:.3g} ms"
    if metric == "max_error_ratio":
        return f"{value:.4%}"
    return f"{value:.1f}/s"


def _file_thresholds() -> dict[str, dict[str, object]]:
    text = resources.files(__package__).joinpath("gates.toml").read_text()
    try:
        requests: dict[str, dict[str, object]] = tomllib.loads(text)["request"]
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise GateConfigError(f"loadtest/gates.toml: {error}") from error
    return requests


def _env_limit(environ: Mapping[str, str], metric: str, request_type: str) -> tuple[float, str]:
    for name in (f"{METRICS[metric]}_{request_type.upper()}", METRICS[metric]):
        raw = environ.get(name, "").strip()
        if raw:
            try:
                return float(raw), name
            except ValueError:
                raise GateConfigError(f"{name}={raw!r}: expected a number") from None
    raise KeyError(metric)


def thresholds(environ: Mapping[str, str] | None = None) -> list[Threshold]:
    """Every gate of a run, in report order; the environment overrides the spec and the file."""
    env = os.environ if environ is None else environ
    spec = load_spec()
    quantile, latency_s = spec.latency_limit(REDIRECT_ROUTE)
    slo_limits = {
        "redirect": {
            "max_error_ratio": (spec.error_ratio_limit(REDIRECT_ROUTE), "slo/objectives.toml"),
            f"max_p{quantile * 100:.0f}_ms": (latency_s * 1000, "slo/objectives.toml"),
        }
    }
    result: list[Threshold] = []
    for request_type, entry in _file_thresholds().items():
        name = str(entry["name"])
        for metric in METRICS:
            try:
                limit, source = _env_limit(env, metric, request_type)
            except KeyError:
                if metric in slo_limits.get(request_type, {}):
                    limit, source = slo_limits[request_type][metric]
                elif metric in entry:
                    limit, source = float(entry[metric]), "loadtest/gates.toml"  # type: ignore[arg-type]
                else:
                    continue
            result.append(Threshold(request_type, name, metric, limit, source))
    return result


def judge(limits: list[Threshold], figures: Mapping[str, Figures]) -> list[GateResult]:
    """Compare each threshold with the run's figures (keyed by request name).

    A request type that saw no request has a rate of 0, which its min_rps gate judges; its
    latency and error gates have nothing to judge and are skipped (a short run may never hit a
    rare task).
    """
    results = []
    for threshold in limits:
        measured = figures.get(threshold.request_name)
        value: float | None
        if measured is not None and measured.requests > 0:
            value = measured.value(threshold.metric)
        else:
            value = 0.0 if threshold.metric == "min_rps" else None
        results.append(GateResult(threshold, value))
    return results


def summary(results: list[GateResult]) -> str:
    judged = [result for result in results if result.judged]
    passed = sum(result.passed for result in judged)
    return f"gates: {passed} passed, {len(judged) - passed} failed"
