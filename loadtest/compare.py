"""One load-test run judged against a baseline run: per request type, RPS, latency quantiles and
error ratio side by side, each with its change, its limit (slo/tolerances.toml) and a verdict.

Reads the runs' `locust_stats.csv`; the judging itself is slo/judgement.py's. `python -m loadtest
compare` prints the table and exits 1 when any figure regressed past its tolerance or a type the
baseline judges has too few requests in the new run to say (inconclusive is not a pass).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loadtest.gates import percent
from loadtest.names import RATE_LIMITED, REQUEST_TYPES
from slo import Tolerances, judgement
from slo.judgement import Row

STATS_CSV = "locust_stats.csv"
FAILURES_CSV = "locust_failures.csv"


class RunError(ValueError):
    """A folder is not a load-test run; str() names the folder and what is missing."""


@dataclass(frozen=True)
class Figures:
    """One request type's figures in one run; latencies in milliseconds by quantile."""

    requests: int
    errors: int
    rps: float
    latency_ms: dict[float, float]

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def _column(quantile: float) -> str:
    """Locust's CSV column of a quantile: 0.99 -> "99%", 0.999 -> "99.9%"."""
    return f"{percent(quantile)}%"


def _rate_limited(folder: Path) -> dict[str, int]:
    """Occurrences of 429 per request name: answers the load test expects, not errors."""
    path = folder / FAILURES_CSV
    if not path.exists():
        return {}
    counts: dict[str, int] = {}
    for row in csv.DictReader(path.open()):
        if RATE_LIMITED in row.get("Error", ""):
            counts[row["Name"]] = counts.get(row["Name"], 0) + int(row["Occurrences"])
    return counts


def _milliseconds(text: str) -> float:
    return float("nan") if text in ("", "N/A") else float(text)


def read_run(folder: Path, quantiles: Iterable[float]) -> dict[str, Figures]:
    """Request type -> its figures, for the types Locust's stats name."""
    path = folder / STATS_CSV
    if not path.is_file():
        raise RunError(f"{folder}: no {STATS_CSV} (not a load-test results folder)")
    wanted = tuple(quantiles)
    by_name = {name: request_type for request_type, name in REQUEST_TYPES.items()}
    limited = _rate_limited(folder)
    runs: dict[str, Figures] = {}
    try:
        for row in csv.DictReader(path.open()):
            request_type = by_name.get(row["Name"])
            if request_type is None:
                continue
            runs[request_type] = Figures(
                requests=int(row["Request Count"]),
                errors=max(0, int(row["Failure Count"]) - limited.get(row["Name"], 0)),
                rps=float(row["Requests/s"]),
                latency_ms={q: _milliseconds(row[_column(q)]) for q in wanted},
            )
    except (KeyError, ValueError) as error:
        raise RunError(f"{path}: not Locust's stats CSV ({error})") from error
    return runs


def compare_type(request_type: str, base: Figures, new: Figures, t: Tolerances) -> list[Row]:
    if (too_few := judgement.too_few(request_type, base.requests, new.requests, t)) is not None:
        return [too_few]
    return [
        judgement.throughput(request_type, base.rps, new.rps, t),
        *(
            judgement.latency(
                request_type, f"p{percent(q)}_ms", base.latency_ms[q], new.latency_ms[q], t
            )
            for q in t.latency_quantiles
        ),
        judgement.error_ratio(request_type, base.error_ratio, new.error_ratio, t),
    ]


def compare(baseline: dict[str, Figures], new: dict[str, Figures], t: Tolerances) -> list[Row]:
    """Rows for every type the baseline has enough requests of to judge, in REQUEST_TYPES order."""
    rows: list[Row] = []
    for request_type in REQUEST_TYPES:
        base = baseline.get(request_type)
        if base is None or base.requests < t.min_requests:
            continue
        empty = Figures(0, 0, 0.0, {q: float("nan") for q in t.latency_quantiles})
        rows += compare_type(request_type, base, new.get(request_type, empty), t)
    return rows
