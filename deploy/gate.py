"""The SLO check after a switch: the new version's own error ratio and p99, from Prometheus.

Only series of web instances whose build info carries the new revision count, so requests the
old version answered during the switch judge nothing. Thresholds come from slo/objectives.toml;
below the request floor a window decides nothing and the check keeps waiting (up to max_wait).
A version whose error ratio is already over the limit with enough requests fails at once; its
latency is judged over the full window only, so the first requests of freshly started workers
(imports, connection set-up) cannot fail a healthy version on their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import requests

from deploy.config import GateConfig
from deploy.errors import DeployError, PrometheusUnavailableError
from slo import SloSpec

BUILD_INFO = '{__name__=~"linkpulse_(web_)?build_info", job="web", revision="%s"}'
LATENCY_BUCKETS = "linkpulse_http_request_duration_seconds_bucket"


@dataclass(frozen=True)
class Family:
    """Which of web's request metric families a check reads: users' or probes' (deploy/probe.py)."""

    counter: str
    buckets: str


USERS = Family("linkpulse_http_requests_total", LATENCY_BUCKETS)
PROBES = Family("linkpulse_probe_requests_total", "linkpulse_probe_request_duration_seconds_bucket")


def route_selector(route: str) -> str:
    """The label matchers of web's series for ROUTE."""
    return f'job="web", route="{route}"'


def of_revision(sha: str) -> str:
    return f"on (instance) group_left (revision) group by (instance, revision) ({BUILD_INFO % sha})"


def queries(
    sha: str, route: str, window_s: int, quantile: float, family: Family = USERS
) -> dict[str, str]:
    """PromQL for the new revision's request count, 5xx count and latency quantile."""
    selector = route_selector(route)
    errors = f'{selector}, status=~"5.."'
    revision_join = of_revision(sha)
    window = f"[{window_s}s]"
    counter = family.counter
    return {
        "requests": f"sum(increase({counter}{{{selector}}}{window}) * {revision_join})",
        "errors": f"sum(increase({counter}{{{errors}}}{window}) * {revision_join})",
        "latency": (
            f"histogram_quantile({quantile}, sum by (le) "
            f"(rate({family.buckets}{{{selector}}}{window}) * {revision_join}))"
        ),
    }


@dataclass(frozen=True)
class Figures:
    requests: float
    errors: float
    latency_s: float  # NaN: no data

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests > 0 else 0.0


@dataclass(frozen=True)
class Limits:
    error_ratio: float
    quantile: float
    latency_s: float
    min_requests: int
    window_s: int
    max_wait_s: int

    @classmethod
    def from_spec(cls, spec: SloSpec, gate: GateConfig) -> Limits:
        quantile, seconds = spec.latency_limit(gate.route)
        return cls(
            error_ratio=spec.error_ratio_limit(gate.route),
            quantile=quantile,
            latency_s=seconds,
            min_requests=gate.min_requests,
            window_s=gate.window_s,
            max_wait_s=gate.max_wait_s,
        )


@dataclass(frozen=True)
class Verdict:
    decided: bool
    passed: bool
    reason: str


def judge(figures: Figures, limits: Limits, elapsed_s: float) -> Verdict:
    """Pass only after a full window with enough requests; fail as soon as enough requests show
    too many errors, or at the end of a full window over the latency limit; fail when max_wait
    passes without enough requests to judge."""
    enough = figures.requests >= limits.min_requests
    full_window = enough and elapsed_s >= limits.window_s
    breaches = []
    if enough and figures.error_ratio > limits.error_ratio:
        breaches.append(f"error ratio {figures.error_ratio:.2%} > {limits.error_ratio:.2%}")
    slow = not math.isnan(figures.latency_s) and figures.latency_s > limits.latency_s
    if full_window and slow:
        breaches.append(
            f"p{limits.quantile * 100:g} {figures.latency_s * 1000:.0f} ms > "
            f"{limits.latency_s * 1000:.0f} ms"
        )
    if breaches:
        return Verdict(True, False, "SLO check failed: " + "; ".join(breaches))
    if full_window:
        return Verdict(True, True, "SLO check passed")
    if elapsed_s >= limits.max_wait_s:
        return Verdict(
            True,
            False,
            f"SLO check undecided: {figures.requests:.0f} < {limits.min_requests} requests "
            f"in {limits.max_wait_s}s, too few to judge",
        )
    return Verdict(False, False, "waiting")


def describe(figures: Figures, limits: Limits, elapsed_s: float) -> str:
    latency = "n/a" if math.isnan(figures.latency_s) else f"{figures.latency_s * 1000:.0f} ms"
    return (
        f"gate {elapsed_s:4.0f}s/{limits.window_s}s: {figures.requests:.0f} requests "
        f"(need {limits.min_requests}), errors {figures.error_ratio:.2%} "
        f"(limit {limits.error_ratio:.2%}), p{limits.quantile * 100:g} {latency} "
        f"(limit {limits.latency_s * 1000:.0f} ms)"
    )


# Answers one PromQL query with a scalar (NaN: no series). How Prometheus is reached differs by
# target: over an SSH port forward on one VM, through promtool in its container on Swarm.
Query = Callable[[str], float]


def first_value(result: list[dict[str, object]]) -> float:
    """The value of the first sample of an instant vector; NaN when the vector is empty."""
    if not result:
        return math.nan
    value = result[0]["value"]
    if not isinstance(value, list) or len(value) != 2:
        raise DeployError(f"Prometheus answered an unexpected sample: {result[0]!r:.200}")
    return float(value[1])


def http_query(prometheus_url: str) -> Query:
    return lambda query: _scalar(prometheus_url, query)


def _scalar(prometheus_url: str, query: str) -> float:
    return first_value(instant_vector(prometheus_url, query))


def instant_vector(prometheus_url: str, query: str) -> list[dict[str, object]]:
    """The samples of QUERY's answer, each with its labels ("metric") and "value"."""
    try:
        response = requests.get(
            f"{prometheus_url}/api/v1/query", params={"query": query}, timeout=10
        )
        if response.status_code == 400:
            detail = response.json().get("error", response.text[:200])
            raise DeployError(f"Prometheus refused a query: {detail}")
        response.raise_for_status()
        result: list[dict[str, object]] = response.json()["data"]["result"]
    except requests.RequestException as error:
        raise PrometheusUnavailableError(
            f"Prometheus on the VM did not answer ({type(error).__name__})"
        ) from error
    except (ValueError, KeyError) as error:
        raise DeployError(f"Prometheus answered something unexpected: {error}") from error
    return result


def measure(query: Query, sha: str, route: str, limits: Limits, family: Family = USERS) -> Figures:
    q = queries(sha, route, limits.window_s, limits.quantile, family)
    requests_n = query(q["requests"])
    errors_n = query(q["errors"])
    return Figures(
        requests=0.0 if math.isnan(requests_n) else requests_n,
        errors=0.0 if math.isnan(errors_n) else errors_n,
        latency_s=query(q["latency"]),
    )


# One reading at ELAPSED seconds: its verdict, the figures that decided it, what to record and
# the line to print. The users' requests alone, unless deploy/probe.py adds the probes'.
Reading = Callable[[Query, float], tuple[Verdict, Figures, dict[str, object], str]]


def users_reading(sha: str, route: str, limits: Limits) -> Reading:
    def read(query: Query, elapsed: float) -> tuple[Verdict, Figures, dict[str, object], str]:
        figures = measure(query, sha, route, limits)
        verdict = judge(figures, limits, elapsed)
        return verdict, figures, asdict(figures), describe(figures, limits, elapsed)

    return read


def run_gate(
    query: Query,
    sha: str,
    route: str,
    limits: Limits,
    echo: Callable[[str], None],
    *,
    poll_s: float = 5.0,
    reading: Reading | None = None,
) -> tuple[Verdict, Figures, list[dict[str, object]]]:
    """Poll until decided; returns the verdict, the last figures and every reading. A reading
    Prometheus cannot give is skipped, and the check keeps waiting up to max_wait: a Prometheus
    that restarts during a release judges nothing about the release."""
    read = reading or users_reading(sha, route, limits)
    started = time.monotonic()
    readings: list[dict[str, object]] = []
    figures = Figures(0.0, 0.0, math.nan)
    while True:
        elapsed = time.monotonic() - started
        try:
            verdict, figures, record, line = read(query, elapsed)
        except PrometheusUnavailableError as error:
            readings.append({"elapsed_s": round(elapsed, 1), "unavailable": str(error)})
            echo(f"gate {elapsed:4.0f}s/{limits.window_s}s: no reading: {error}")
            if elapsed >= limits.max_wait_s:
                reason = f"SLO check undecided: no reading for {limits.max_wait_s}s: {error}"
                return Verdict(True, False, reason), figures, readings
            time.sleep(poll_s)
            continue
        readings.append({"elapsed_s": round(elapsed, 1), **record})
        echo(line)
        if verdict.decided:
            return verdict, figures, readings
        time.sleep(poll_s)
