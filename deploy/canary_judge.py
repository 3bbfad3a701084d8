"""A canary step judged against its baseline: the new version's redirects and the old version's,
measured by Prometheus over the same window, split by the `revision` of web's build info.

Two questions, both asked at every step, every answer a row of the step's table:
- does the canary keep the SLO (slo/objectives.toml: error ratio and latency quantile), as the
  all-at-once SLO check asks. The latency objective allows a share of redirects over its limit
  (1 % for a p99): the canary breaks it when its share over the limit is more than that with
  evidence (a binomial test, p below SIGNIFICANCE). A p99 of a step's hundred-odd requests is
  its second-slowest request, which one stalled second of this shared machine sets for both
  versions alike; a release that is really slow puts far more than 1 % over the limit;
- is the canary worse than the baseline by more than slo/tolerances.toml allows. Latency regresses
  only when a quantile is past its tolerance **and** the whole distribution has shifted (a
  one-sided Mann-Whitney test on the two histograms, p below SIGNIFICANCE): on this shared
  machine one slow second can move a p99 of a few hundred requests by itself.
Without min_requests on each side the step is INCONCLUSIVE, which is not a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deploy.gate import USERS, Family, Limits, of_revision, route_selector
from slo import Tolerances, judgement
from slo.histograms import (
    Histogram,
    above,
    more_than_allowed_p_value,
    quantile,
    slower_p_value,
    total,
)
from slo.judgement import FAIL, INCONCLUSIVE, PASS, Row

# Below this p-value a latency shift counts as real. 1 % over ~3 steps per release keeps a healthy
# release's chance of being stopped by noise alone near 3 % in the worst case.
SIGNIFICANCE = 0.01
INFORMATION = "-"
SLO, VS_BASELINE = "slo", "vs baseline"


@dataclass(frozen=True)
class Side:
    """One version's redirects in the step's window."""

    requests: float
    errors: float
    latency: Histogram  # seconds

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests > 0 else 0.0

    def quantile_ms(self, q: float) -> float:
        return quantile(q, self.latency) * 1000


def _slo_rows(baseline: Side, canary: Side, limits: Limits) -> list[Row]:
    """The SLO's limits for the canary; the baseline's figures beside them for reading only."""
    p = f"p{limits.quantile * 100:g}_ms"
    limit_ms = limits.latency_s * 1000
    latency_ms = canary.quantile_ms(limits.quantile)
    over = above(limits.latency_s, canary.latency)
    count = total(canary.latency)
    allowed = 1 - limits.quantile
    slow = (
        not math.isnan(latency_ms)
        and latency_ms > limit_ms
        and more_than_allowed_p_value(over, count, allowed) < SIGNIFICANCE
    )
    return [
        Row(
            SLO,
            "error_ratio",
            baseline.error_ratio,
            canary.error_ratio,
            f"<= {limits.error_ratio:.4f}",
            FAIL if canary.error_ratio > limits.error_ratio else PASS,
        ),
        Row(
            SLO,
            p,
            baseline.quantile_ms(limits.quantile),
            latency_ms,
            f"<= {limit_ms:.0f} ({over:.0f}/{count:.0f} over)",
            FAIL if slow else PASS,
        ),
    ]


def _latency_rows(baseline: Side, canary: Side, t: Tolerances) -> list[Row]:
    p_value = slower_p_value(baseline.latency, canary.latency)
    shifted = p_value < SIGNIFICANCE
    rows = []
    for q in t.latency_quantiles:
        row = judgement.latency(
            VS_BASELINE, f"p{q * 100:g}_ms", baseline.quantile_ms(q), canary.quantile_ms(q), t
        )
        if row.verdict == FAIL and not shifted:
            row = Row(row.subject, row.metric, row.baseline, row.new, row.limit, PASS)
        rows.append(row)
    rows.append(
        Row(
            VS_BASELINE,
            "slower_p",
            SIGNIFICANCE,
            p_value,
            f"shift if < {SIGNIFICANCE}",
            INFORMATION,
        )
    )
    return rows


def judge_step(baseline: Side, canary: Side, limits: Limits, t: Tolerances) -> list[Row]:
    """The step's table; judgement.verdict(rows) is its verdict."""
    rows = []
    for name, side in (("baseline", baseline), ("canary", canary)):
        if side.requests < t.min_requests or total(side.latency) < t.min_requests:
            rows.append(
                Row(
                    name,
                    "requests",
                    t.min_requests,
                    side.requests,
                    f">= {t.min_requests}",
                    INCONCLUSIVE,
                )
            )
    # The SLO is judged on the canary's own requests whenever it has enough of them: a canary
    # breaking the SLO fails even while the baseline is too quiet to compare with.
    if canary.requests >= t.min_requests:
        rows += _slo_rows(baseline, canary, limits)
    if not rows or all(row.verdict != INCONCLUSIVE for row in rows):
        rows += _latency_rows(baseline, canary, t)
        rows.append(judgement.error_ratio(VS_BASELINE, baseline.error_ratio, canary.error_ratio, t))
    return rows


def bucket_query(sha: str, route: str, window_s: int, family: Family = USERS) -> str:
    """PromQL for one revision's latency histogram of ROUTE in the window: a vector by `le`."""
    selector = route_selector(route)
    increase = f"increase({family.buckets}{{{selector}}}[{window_s}s])"
    return f"sum by (le) ({increase} * {of_revision(sha)})"
