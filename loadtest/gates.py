"""SLO gates of a load test: thresholds from the SLO spec, gates.toml and the environment.

Pure logic: `thresholds()` decides what each request type must meet, `judge()` compares a run's
figures with them. locustfile.py feeds it Locust's stats when the run ends and sets the exit code.

A latency metric names its quantile, `max_p<percent>_ms`: max_p95_ms, max_p99_ms, max_p99.9_ms.
Any quantile works, so whatever the SLO spec's latency target is, the redirect is gated on it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from linkpulse.routes import REDIRECT_ROUTE
from loadtest.names import REQUEST_TYPES
from slo import SloSpec, load_spec

ERROR_RATIO = "max_error_ratio"
MIN_RPS = "min_rps"
_LATENCY = re.compile(r"^max_p(\d+(?:\.\d+)?)_ms$")
# The percentiles every report shows beside the gates, judged or not.
REPORTED_QUANTILES = (0.95, 0.99)
SLO_SOURCE = "slo/objectives.toml"
FILE_SOURCE = "loadtest/gates.toml"


class GateConfigError(ValueError):
    """A threshold is malformed; str() names the variable or file."""


def percent(quantile: float) -> str:
    """0.99 -> "99", 0.999 -> "99.9": the quantile as a metric and a variable name spell it."""
    return f"{quantile * 100:.10g}"


def latency_metric(quantile: float) -> str:
    return f"max_p{percent(quantile)}_ms"


def quantile_of(metric: str) -> float | None:
    """The quantile a latency metric gates (max_p99_ms -> 0.99); None for any other metric."""
    match = _LATENCY.match(metric)
    # Rounded, so that max_p99.9_ms and the spec's 0.999 are the same key.
    return None if match is None else round(float(match.group(1)) / 100, 12)


def variable(metric: str) -> str:
    """The environment variable that overrides METRIC for every type: LOADTEST_MAX_P99_9_MS."""
    return "LOADTEST_" + metric.upper().replace(".", "_")


@dataclass(frozen=True)
class Threshold:
    request_type: str
    request_name: str
    metric: str
    limit: float
    source: str


@dataclass(frozen=True)
class Figures:
    """What a run measured for one request type; latency_ms maps a quantile to its time."""

    requests: int
    failures: int
    latency_ms: Mapping[float, float]
    rps: float

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def value(self, metric: str) -> float:
        quantile = quantile_of(metric)
        if quantile is not None:
            return self.latency_ms[quantile]
        return {ERROR_RATIO: self.error_ratio, MIN_RPS: self.rps}[metric]

    def as_dict(self) -> dict[str, float]:
        """Flat, as gates.json writes it: requests, failures, p95_ms, p99_ms ..., rps."""
        latency = {f"p{percent(q)}_ms": ms for q, ms in sorted(self.latency_ms.items())}
        return {"requests": self.requests, "failures": self.failures, **latency, "rps": self.rps}


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
    if metric == ERROR_RATIO:
        return f"{value:.4%}"
    return f"{value:.1f}/s"


def _file_thresholds() -> dict[str, dict[str, float]]:
    text = resources.files(__package__).joinpath("gates.toml").read_text()
    try:
        raw = tomllib.loads(text)["request"]
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise GateConfigError(f"{FILE_SOURCE}: {error}") from error
    for request_type, entry in raw.items():
        if request_type not in REQUEST_TYPES:
            raise GateConfigError(f"{FILE_SOURCE}: no request type {request_type!r}")
        for metric, limit in entry.items():
            if quantile_of(metric) is None and metric not in (ERROR_RATIO, MIN_RPS):
                raise GateConfigError(f"{FILE_SOURCE}: {request_type}.{metric} is no metric")
            if not isinstance(limit, int | float) or isinstance(limit, bool):
                raise GateConfigError(f"{FILE_SOURCE}: {request_type}.{metric} is not a number")
    return {t: {m: float(v) for m, v in entry.items()} for t, entry in raw.items()}


def _slo_limits(spec: SloSpec) -> dict[str, float]:
    """The redirect's limits from the SLO spec, by metric."""
    quantile, latency_s = spec.latency_limit(REDIRECT_ROUTE)
    return {
        latency_metric(quantile): latency_s * 1000,
        ERROR_RATIO: spec.error_ratio_limit(REDIRECT_ROUTE),
    }


def _env_limit(environ: Mapping[str, str], metric: str, request_type: str) -> tuple[float, str]:
    for name in (f"{variable(metric)}_{request_type.upper()}", variable(metric)):
        raw = environ.get(name, "").strip()
        if raw:
            try:
                return float(raw), name
            except ValueError:
                raise GateConfigError(f"{name}={raw!r}: expected a number") from None
    raise KeyError(metric)


def _metrics(named: Iterable[str]) -> list[str]:
    """The metrics NAMED and those the environment may add anywhere, in report order: latency by
    quantile, then the error ratio, then the rate."""
    latency = {m for m in named if quantile_of(m) is not None}
    latency.update(latency_metric(q) for q in REPORTED_QUANTILES)
    return [*sorted(latency, key=lambda m: quantile_of(m) or 0.0), ERROR_RATIO, MIN_RPS]


def thresholds(
    environ: Mapping[str, str] | None = None, spec: SloSpec | None = None
) -> list[Threshold]:
    """Every gate of a run, in report order; the environment overrides the spec and the file."""
    env = os.environ if environ is None else environ
    slo = {"redirect": _slo_limits(spec or load_spec())}
    files = _file_thresholds()
    result: list[Threshold] = []
    for request_type, name in REQUEST_TYPES.items():
        fixed = files.get(request_type, {})
        spec_limits = slo.get(request_type, {})
        for metric in _metrics([*fixed, *spec_limits]):
            try:
                limit, source = _env_limit(env, metric, request_type)
            except KeyError:
                if metric in spec_limits:
                    limit, source = spec_limits[metric], SLO_SOURCE
                elif metric in fixed:
                    limit, source = fixed[metric], FILE_SOURCE
                else:
                    continue
            result.append(Threshold(request_type, name, metric, limit, source))
    return result


def quantiles(limits: Iterable[Threshold]) -> list[float]:
    """The latency quantiles a run must measure: those of the gates and the reported ones."""
    gated = {q for t in limits if (q := quantile_of(t.metric)) is not None}
    return sorted({*REPORTED_QUANTILES, *gated})


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
            value = 0.0 if threshold.metric == MIN_RPS else None
        results.append(GateResult(threshold, value))
    return results


def summary(results: list[GateResult]) -> str:
    judged = [result for result in results if result.judged]
    passed = sum(result.passed for result in judged)
    return f"gates: {passed} passed, {len(judged) - passed} failed"
