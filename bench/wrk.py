"""Runs wrk against a loopback URL and reads throughput and latency percentiles from its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int


def _latency_ms(report: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", report, re.MULTILINE)
    if match is None:
        raise ValueError(f"wrk report has no {percentile}% latency line:\n{report}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_report(report: str) -> LoadResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", report, re.MULTILINE)
    if rps is None or total is None:
        raise ValueError(f"not a wrk report:\n{report}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    failures = int(bad.group(1)) if bad else 0
    if errors:
        failures += sum(int(errors.group(i)) for i in range(1, 5))
    return LoadResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=_latency_ms(report, "50"),
        p99_ms=_latency_ms(report, "99"),
        requests=int(total.group(1)),
        bad_responses=failures,
    )


def run_wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    script: Sequence[str] = (),
) -> LoadResult:
    """One wrk run; `script` is a Lua script's path followed by its arguments."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("load is only ever sent to loopback")
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: run `make deps`")
    completed = subprocess.run(
        [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *(("-s", script[0], url, "--", *script[1:]) if script else (url,)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_report(completed.stdout)
