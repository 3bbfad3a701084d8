"""The project's one SLO spec (objectives.toml beside this file), typed.

Three readers derive their thresholds from it: the alert-rule generator, the load-test gates and
the deploy tool's SLO check. Each asks for what it needs (`error_ratio_limit`, `latency_limit`)
rather than re-reading the numbers, so a change to the spec reaches all of them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

SPEC_FILE = "objectives.toml"
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SpecError(ValueError):
    """The spec file is malformed; the message names the field."""


def duration_seconds(text: str) -> int:
    """Seconds in a Prometheus-style duration of one unit: `30s`, `5m`, `6h`, `3d`."""
    match = _DURATION.match(text)
    if match is None:
        raise SpecError(f"{text!r} is not a duration like 30s, 5m, 6h or 3d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


@dataclass(frozen=True)
class Objective:
    name: str
    description: str
    kind: Literal["availability", "latency"]
    route: str
    target: float
    threshold_seconds: float | None = None

    @property
    def error_budget(self) -> float:
        """The fraction of requests allowed to miss: 0.001 for a 99.9 % target."""
        return round(1.0 - self.target, 12)


@dataclass(frozen=True)
class BurnRateAlert:
    severity: Literal["page", "ticket"]
    long_window: str
    short_window: str
    burn_rate: float


@dataclass(frozen=True)
class DeployGate:
    window: str
    min_requests: int
    max_wait: str


@dataclass(frozen=True)
class SloSpec:
    budget_days: int
    objectives: tuple[Objective, ...]
    burn_rate_alerts: tuple[BurnRateAlert, ...]
    deploy_gate: DeployGate
    # Requests a burn-rate alert's long window must hold before its ratio means anything.
    alert_min_requests: int = 0

    def objective(self, name: str) -> Objective:
        for objective in self.objectives:
            if objective.name == name:
                return objective
        raise KeyError(name)

    def error_ratio_limit(self, route: str) -> float:
        """The largest server-error ratio a route's availability objective allows."""
        return min(
            o.error_budget for o in self.objectives if o.kind == "availability" and o.route == route
        )

    def latency_limit(self, route: str) -> tuple[float, float]:
        """(quantile, seconds) of a route's latency objective: (0.99, 0.1) is "p99 <= 100 ms"."""
        for o in self.objectives:
            if o.kind == "latency" and o.route == route and o.threshold_seconds is not None:
                return o.target, o.threshold_seconds
        raise KeyError(route)


def _objective(raw: dict[str, Any]) -> Objective:
    objective = Objective(**raw)
    if objective.kind not in ("availability", "latency"):
        raise SpecError(f"objective {objective.name}: kind must be availability or latency")
    if not 0.0 < objective.target < 1.0:
        raise SpecError(f"objective {objective.name}: target must lie between 0 and 1")
    if (objective.kind == "latency") != (objective.threshold_seconds is not None):
        raise SpecError(f"objective {objective.name}: threshold_seconds goes with kind latency")
    return objective


def _burn_rate_alert(raw: dict[str, Any]) -> BurnRateAlert:
    alert = BurnRateAlert(**raw)
    if duration_seconds(alert.short_window) >= duration_seconds(alert.long_window):
        raise SpecError(f"burn-rate alert {alert}: short_window must be shorter than long_window")
    return alert


def _count(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SpecError(f"{key} must be a whole number of requests, not {value!r}")
    return value


def parse_spec(text: str) -> SloSpec:
    try:
        raw = tomllib.loads(text)
        spec = SloSpec(
            budget_days=int(raw["budget_days"]),
            objectives=tuple(_objective(o) for o in raw["objective"]),
            burn_rate_alerts=tuple(_burn_rate_alert(a) for a in raw["burn_rate_alert"]),
            deploy_gate=DeployGate(**raw["deploy_gate"]),
            alert_min_requests=_count(raw, "alert_min_requests"),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise SpecError(f"slo/{SPEC_FILE}: {error}") from error
    for duration in (spec.deploy_gate.window, spec.deploy_gate.max_wait):
        duration_seconds(duration)
    return spec


def load_spec() -> SloSpec:
    """The spec shipped beside this module."""
    return parse_spec(resources.files(__package__).joinpath(SPEC_FILE).read_text())


TOLERANCES_FILE = "tolerances.toml"


@dataclass(frozen=True)
class Tolerances:
    """How much worse than a baseline a new version may be (tolerances.toml)."""

    min_requests: int
    latency_quantiles: tuple[float, ...]
    latency_max_ratio: float
    latency_max_added_ms: float
    errors_max_added_ratio: float
    throughput_min_ratio: float


def _positive(raw: dict[str, Any], section: str, key: str) -> float:
    value = raw[section][key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SpecError(f"slo/{TOLERANCES_FILE}: [{section}] {key} must be a number >= 0")
    return float(value)


def parse_tolerances(text: str) -> Tolerances:
    try:
        raw = tomllib.loads(text)
        quantiles = tuple(float(q) for q in raw["latency"]["quantiles"])
        tolerances = Tolerances(
            min_requests=_count(raw, "min_requests"),
            latency_quantiles=quantiles,
            latency_max_ratio=_positive(raw, "latency", "max_ratio"),
            latency_max_added_ms=_positive(raw, "latency", "max_added_ms"),
            errors_max_added_ratio=_positive(raw, "errors", "max_added_ratio"),
            throughput_min_ratio=_positive(raw, "throughput", "min_ratio"),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, SpecError):
            raise
        raise SpecError(f"slo/{TOLERANCES_FILE}: {error}") from error
    if not quantiles or not all(0.0 < q < 1.0 for q in quantiles):
        raise SpecError(f"slo/{TOLERANCES_FILE}: [latency] quantiles must lie between 0 and 1")
    return tolerances


def load_tolerances() -> Tolerances:
    """The tolerances shipped beside this module."""
    return parse_tolerances(resources.files(__package__).joinpath(TOLERANCES_FILE).read_text())
