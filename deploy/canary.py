"""`deploy --strategy canary` on one VM: the new web beside the old one, nginx sending it a share
of the requests in steps (deploy/nginx_weights.py), each step judged against the old version in
the same window (deploy/canary_judge.py), the last step the switch itself.

A step decides as soon as both sides have [deploy] min_requests redirects in its window, so a
busy service moves on in seconds and a quiet one waits for evidence (up to step_max_wait, then
the step is inconclusive, which aborts). A step that users will not give enough evidence soon
tops it up with probes, judged apart from the users' (deploy/canary_probes.py). At 100 % no
baseline is left to compare with: the switch follows a step that judged the new version on its
share of the requests, so there is nothing a further SLO check would learn sooner. A failed or
inconclusive step routes every request back to the old web, then removes the new one; the worker
is switched only after the last step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from deploy.canary_judge import Side, bucket_query, judge_step
from deploy.canary_probes import PROBES, USERS, choose, probe_rate, users_pace
from deploy.config import DeploySettings
from deploy.errors import DeployError, PrometheusUnavailableError
from deploy.gate import PROBES as PROBE_FAMILY
from deploy.gate import USERS as USER_FAMILY
from deploy.gate import Family, Limits, first_value, instant_vector, queries
from deploy.nginx_weights import render_split
from deploy.outcome import LockKeptError
from deploy.plan import render_upstream
from deploy.probe import running
from deploy.rollout import Rollout
from deploy.stages import Stages
from deploy.vm import Container
from slo import Tolerances
from slo.histograms import Histogram
from slo.judgement import FAIL, INCONCLUSIVE, PASS, Row, table, verdict

POLL_S = 5.0
# The shortest window asked of Prometheus: two of its scrapes (10 s apart, monitoring/prometheus),
# the least increase() needs to see a counter rise.
MIN_WINDOW_S = 20

# Window in seconds -> (baseline, canary) in that window.
Measure = Callable[[int], tuple[Side, Side]]


@dataclass
class StepReport:
    """One judged step: what history, the failure bundle and the rehearsal keep."""

    weight: int
    verdict: str
    duration_s: float
    window_s: int
    baseline_requests: float = 0.0
    canary_requests: float = 0.0
    rows: list[Row] = field(default_factory=list)
    evidence: str = USERS  # whose requests the rows judge: users' or probes'
    probe_requests: tuple[float, float] | None = None  # (baseline, canary), when probes ran

    @property
    def table(self) -> str:
        return table(self.rows, new="canary")

    @property
    def counts(self) -> str:
        users = (
            f"baseline {self.baseline_requests:.0f}, canary {self.canary_requests:.0f} redirects"
        )
        if self.probe_requests is None:
            return users
        probe_baseline, probe_canary = self.probe_requests
        return f"{users}; probes {probe_baseline:.0f}, {probe_canary:.0f}"

    def to_json(self) -> dict[str, object]:
        return {
            "weight": self.weight,
            "verdict": self.verdict,
            "duration_s": self.duration_s,
            "window_s": self.window_s,
            "baseline_requests": round(self.baseline_requests),
            "canary_requests": round(self.canary_requests),
            "rows": [vars(row) for row in self.rows],
            "evidence": self.evidence,
            "probe_requests": (
                None if self.probe_requests is None else [round(n) for n in self.probe_requests]
            ),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StepReport:
        """A step recorded by a paused deploy, for the history of the command that ends it."""
        probes = raw.get("probe_requests")
        return cls(
            raw["weight"],
            raw["verdict"],
            raw["duration_s"],
            raw["window_s"],
            raw["baseline_requests"],
            raw["canary_requests"],
            [Row(**row) for row in raw["rows"]],
            raw.get("evidence", USERS),
            None if probes is None else (probes[0], probes[1]),
        )


class CanaryFailedError(DeployError):
    """A step failed or stayed inconclusive: the old web serves everything again."""


class CanaryPausedError(LockKeptError):
    """A step stayed inconclusive and [deploy] on_inconclusive is "pause": both webs keep their
    share of requests and the lock stays held until `deploy promote` or `deploy abort`."""

    def __init__(self, message: str, weight: int) -> None:
        super().__init__(message)
        self.weight = weight


def histogram(samples: list[dict[str, object]]) -> Histogram:
    """A `sum by (le)` answer as (bound, cumulative count), ascending."""
    points = []
    for sample in samples:
        labels = sample.get("metric")
        if not isinstance(labels, dict) or "le" not in labels:
            raise DeployError(f"a bucket sample has no `le` label: {sample!r:.200}")
        points.append((float(labels["le"]), first_value([sample])))
    return sorted(points)


def prometheus_measure(
    url: str, route: str, baseline_sha: str, canary_sha: str, family: Family = USER_FAMILY
) -> Measure:
    """Both revisions' redirects from Prometheus at URL, the old one's and the new one's series
    told apart by web's build info (deploy/gate.py); users' or probes' by FAMILY."""

    def side(sha: str, window_s: int) -> Side:
        # The quantile is unused here: the judge takes its quantiles from the histogram.
        q = queries(sha, route, window_s, 0.99, family)
        requests_n = first_value(instant_vector(url, q["requests"]))
        errors_n = first_value(instant_vector(url, q["errors"]))
        return Side(
            requests=0.0 if math.isnan(requests_n) else requests_n,
            errors=0.0 if math.isnan(errors_n) else errors_n,
            latency=histogram(instant_vector(url, bucket_query(sha, route, window_s, family))),
        )

    return lambda window_s: (side(baseline_sha, window_s), side(canary_sha, window_s))


@dataclass(frozen=True)
class StepProbes:
    """The probes' own measure of both revisions, and the sender's pace."""

    measure: Measure
    set_rate: Callable[[float], None]


@contextmanager
def probed(
    public_url: str, measure_of: Callable[[Family], Measure], echo: Callable[[str], None]
) -> Iterator[StepProbes | None]:
    """Probes for the canary's steps, idle until a step is short of users; None when no probe
    link could be made (the steps then judge users alone)."""
    with running(public_url, echo) as load:
        yield None if load is None else StepProbes(measure_of(PROBE_FAMILY), load.set_rate)


class WebCanary:
    def __init__(
        self,
        rollout: Rollout,
        stages: Stages,
        settings: DeploySettings,
        limits: Limits,
        tolerances: Tolerances,
        *,
        on_step: Callable[[str, StepReport], None] = lambda sha, report: None,
    ) -> None:
        self.rollout = rollout
        self.stages = stages
        self.settings = settings
        self.limits = limits
        self.tolerances = tolerances
        self.on_step = on_step
        self.steps: list[StepReport] = []
        self.probe_rate = 0.0  # probes per second now sent

    def run(self, sha: str, measure: Measure, probes: StepProbes | None = None) -> None:
        """The new web SHA through every step; raises CanaryFailedError after routing every
        request back to the old web and removing the new one."""
        with self.stages.stage("start the new web beside the old one"):
            old, new = self.rollout.start_beside(sha, "web")
        self.resume(sha, old, new, self.settings.steps, measure=measure, probes=probes)

    def resume(
        self,
        sha: str,
        old: list[Container],
        new: list[Container],
        weights: list[int],
        *,
        measure: Measure,
        probes: StepProbes | None = None,
    ) -> None:
        """The steps WEIGHTS with OLD and NEW already running (all of them from run(); those
        after a paused step from `deploy promote`). A step that pauses (on_inconclusive) raises
        CanaryPausedError and leaves the split as it is."""
        if not old:
            raise DeployError("no old web runs to judge the canary against")
        try:
            for weight in weights:
                if weight >= 100:
                    with self.stages.stage(f"canary promoted: every request to {sha[:12]}"):
                        self.rollout.hand_over_web(old, new)
                    return
                with self.stages.stage(f"canary step: {weight} % of requests to {sha[:12]}"):
                    self.rollout.route_web(render_split(_names(old), _names(new), weight))
                    report = self._judge(weight, measure, probes)
                    self.steps.append(report)
                    self.on_step(sha, report)
                    self._decide(sha, report)
        except CanaryPausedError:
            raise
        except BaseException:
            failed = self.stages.failed  # the step that failed, not the abort, names the failure
            self.abort(old, new)
            self.stages.failed = failed
            raise

    def _judge(self, weight: int, measure: Measure, probes: StepProbes | None) -> StepReport:
        started = time.monotonic()
        wait_s = self.settings.step_max_wait_s
        need = self.settings.min_requests
        report = StepReport(weight, INCONCLUSIVE, 0.0, MIN_WINDOW_S)
        if probes is not None:
            # Users' pace up to the split, so a quiet service's probes start with the step, not
            # after its first judged window.
            self._pace_probes(probes, weight, self._read_pace(measure))
        while True:
            time.sleep(POLL_S)
            elapsed = time.monotonic() - started
            if elapsed < MIN_WINDOW_S:
                continue  # the window is the step's own: none of the step before
            try:
                report = self._read(weight, math.ceil(elapsed), measure, probes)
            except PrometheusUnavailableError as error:
                self.stages.note(f"canary {weight} % {elapsed:3.0f}s: no reading: {error}")
            else:
                self.stages.note(
                    f"canary {weight} % {elapsed:3.0f}s/{wait_s}s: {report.counts} "
                    f"(need {need} each)"
                )
                if report.verdict != INCONCLUSIVE:
                    break
            if elapsed >= wait_s:
                break
        if probes is not None:
            probes.set_rate(0.0)  # the step is decided: no more evidence is needed
            self.probe_rate = 0.0
        report.duration_s = round(time.monotonic() - started, 1)
        return report

    def _read(
        self, weight: int, window_s: int, measure: Measure, probes: StepProbes | None
    ) -> StepReport:
        """The step judged on users' requests in the window, or on probes' when users' cannot
        decide it."""
        baseline, canary = measure(window_s)
        rows = judge_step(baseline, canary, self.limits, self.tolerances)
        report = StepReport(
            weight, verdict(rows), 0.0, window_s, baseline.requests, canary.requests, rows
        )
        if probes is None:
            return report
        self._pace_probes(probes, weight, users_pace(baseline, canary, window_s))
        if report.verdict != INCONCLUSIVE:
            return report
        probe_baseline, probe_canary = probes.measure(window_s)
        report.probe_requests = (probe_baseline.requests, probe_canary.requests)
        probe_rows = judge_step(probe_baseline, probe_canary, self.limits, self.tolerances)
        report.rows, report.evidence = choose(rows, probe_rows)
        report.verdict = verdict(report.rows)
        return report

    def _read_pace(self, measure: Measure) -> float:
        try:
            baseline, canary = measure(MIN_WINDOW_S)
        except PrometheusUnavailableError:
            return 0.0  # unknown: probe, a busy service's users take over at the first reading
        return users_pace(baseline, canary, MIN_WINDOW_S)

    def _pace_probes(self, probes: StepProbes, weight: int, pace: float) -> None:
        rate = probe_rate(pace, weight, self.settings.min_requests)
        probes.set_rate(rate)
        if rate != self.probe_rate:
            self.probe_rate = rate
            self.stages.note(
                f"canary {weight} %: users bring {pace:.1f} redirects/s, probes {rate:.1f}/s"
            )

    def _decide(self, sha: str, report: StepReport) -> None:
        for line in report.table.splitlines():
            self.stages.note(line)
        on = " on probe requests" if report.evidence == PROBES else ""
        if report.verdict == PASS:
            self.stages.note(f"canary {report.weight} %: PASS{on} in {report.duration_s:.0f}s")
            return
        failed = [
            f"{row.subject} {row.metric}"
            for row in report.rows
            if row.verdict in (FAIL, INCONCLUSIVE)
        ]
        reason = ", ".join(failed) if failed else f"no reading for {report.duration_s:.0f}s"
        if report.probe_requests is not None and report.verdict == INCONCLUSIVE:
            probe_baseline, probe_canary = report.probe_requests
            reason += f" (probes: baseline {probe_baseline:.0f}, canary {probe_canary:.0f})"
        if report.verdict == INCONCLUSIVE and self.settings.on_inconclusive == "pause":
            raise CanaryPausedError(
                f"canary of {sha[:12]} paused at {report.weight} %: inconclusive, {reason}; "
                "`python -m deploy promote` continues it, `python -m deploy abort` ends it",
                report.weight,
            )
        raise CanaryFailedError(
            f"canary {report.verdict} at {report.weight} %{on}: {reason} (judged on "
            f"{report.window_s}s; the step's table is above and in the bundle)"
        )

    def abort(self, old: list[Container], new: list[Container]) -> None:
        with self.stages.stage("canary aborted: every request back to the old web"):
            self.rollout.route_web(render_upstream(_names(old)))
            self.rollout.on_failed_containers(self.rollout.vm.inspect([c.id for c in new]))
            self.rollout.vm.stop(new, grace_s=int(self.rollout.drain_timeout_s))
            self.stages.note(f"web: {', '.join(_names(new))} drained and removed")


def _names(containers: list[Container]) -> list[str]:
    return [c.name for c in containers]
