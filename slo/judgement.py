"""A new version's figures judged against a baseline's with slo/tolerances.toml: the limits, one
row per figure, the overall verdict and the table every judge prints. Pure logic, shared by the
load-test comparison (loadtest/compare.py) and any judge of a new version against an old one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slo import Tolerances

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"


@dataclass(frozen=True)
class Row:
    """One figure: which part of the service (a request type, a route), the figure's name, its value
    for the baseline and the new version, the limit the new one must meet, and the verdict."""

    subject: str
    metric: str
    baseline: float
    new: float
    limit: str
    verdict: str

    @property
    def change(self) -> str:
        if self.metric == "error_ratio":
            return f"{(self.new - self.baseline) * 100:+.2f} pts"
        if self.baseline == 0:
            return "n/a"
        return f"{(self.new / self.baseline - 1) * 100:+.0f} %"


def too_few(subject: str, baseline: float, new: float, t: Tolerances) -> Row | None:
    """The row that makes a subject inconclusive when the new version has too few requests."""
    if new >= t.min_requests:
        return None
    return Row(subject, "requests", baseline, new, f">= {t.min_requests} requests", INCONCLUSIVE)


def latency(subject: str, metric: str, baseline_ms: float, new_ms: float, t: Tolerances) -> Row:
    """Regressed when both over max_ratio x the baseline and max_added_ms above it."""
    limit = max(baseline_ms * t.latency_max_ratio, baseline_ms + t.latency_max_added_ms)
    if math.isnan(baseline_ms) or math.isnan(new_ms):
        verdict = INCONCLUSIVE
    else:
        verdict = FAIL if new_ms > limit else PASS
    return Row(subject, metric, baseline_ms, new_ms, f"<= {limit:.0f}", verdict)


def error_ratio(subject: str, baseline: float, new: float, t: Tolerances) -> Row:
    limit = baseline + t.errors_max_added_ratio
    return Row(subject, "error_ratio", baseline, new, f"<= {limit:.4f}", _at_most(new, limit))


def throughput(subject: str, baseline_rps: float, new_rps: float, t: Tolerances) -> Row:
    limit = baseline_rps * t.throughput_min_ratio
    verdict = PASS if new_rps >= limit else FAIL
    return Row(subject, "rps", baseline_rps, new_rps, f">= {limit:.1f}", verdict)


def _at_most(value: float, limit: float) -> str:
    return PASS if value <= limit else FAIL


def verdict(rows: list[Row]) -> str:
    """FAIL if anything regressed, else INCONCLUSIVE if anything could not be judged (or nothing
    was), else PASS."""
    verdicts = {row.verdict for row in rows}
    if FAIL in verdicts:
        return FAIL
    if INCONCLUSIVE in verdicts or not rows:
        return INCONCLUSIVE
    return PASS


def _figure(metric: str, value: float) -> str:
    if metric == "error_ratio":
        return f"{value:.4f}"
    if metric == "requests":
        return f"{value:.0f}"
    return f"{value:.1f}"


def table(rows: list[Row], subject: str = "subject", new: str = "new") -> str:
    """Aligned columns: SUBJECT, metric, baseline, NEW, change, limit, verdict."""
    header = (subject, "metric", "baseline", new, "change", "limit", "verdict")
    lines = [header] + [
        (
            row.subject,
            row.metric,
            _figure(row.metric, row.baseline),
            _figure(row.metric, row.new),
            row.change,
            row.limit,
            row.verdict,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
