"""wrk against the bench project's published ports: capacity runs and paced runs."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.stack.compose import cpu_seconds, stream_probe
from bench.wrk import LoadResult, run_wrk

PACED_SCRIPT = Path(__file__).with_name("paced.lua")
CONNECTIONS = 64


@dataclass(frozen=True)
class Run:
    target: str
    offered_per_second: float | None  # None: a capacity run (as fast as answers come)
    connections: int
    result: LoadResult
    max_event_age_ms: int | None = None  # oldest unprocessed click seen during the run
    # CPU cores each service used during the run (cgroup CPU time / wall time).
    cores_used: dict[str, float] | None = None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "result": asdict(self.result)}


def capacity_run(
    target: str, url: str, paths: Path, seconds: int, containers: dict[str, str] | None = None
) -> Run:
    """The highest errorless rate: wrk at 64 connections, halving them while errors appear.
    With `containers`, each one's CPU use during the run is recorded too."""
    connections = CONNECTIONS
    while True:
        before, started = cpu_seconds(containers) if containers else {}, time.monotonic()
        result = run_wrk(
            url, seconds=seconds, connections=connections, script=(str(PACED_SCRIPT), str(paths))
        )
        elapsed = time.monotonic() - started
        after = cpu_seconds(containers) if containers else {}
        cores = {name: round((after[name] - before[name]) / elapsed, 3) for name in before}
        if result.bad_responses == 0 or connections <= 8:
            return Run(target, None, connections, result, cores_used=cores or None)
        connections //= 2


def paced_run(  # noqa: PLR0917 - one run's full description
    target: str, url: str, paths: Path, seconds: int, rate: float, watch_stream: bool
) -> Run:
    """wrk offering `rate` requests/s; with watch_stream, the click stream's oldest unprocessed
    event is sampled meanwhile (a few readings a second)."""
    ages: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with stream_probe() as probe:
            while not stop.wait(0.25):
                ages.append(probe.read().oldest_age_ms)

    sampler = threading.Thread(target=sample, name="stream-sampler")
    if watch_stream:
        sampler.start()
    try:
        result = run_wrk(
            url,
            seconds=seconds,
            connections=CONNECTIONS,
            script=(str(PACED_SCRIPT), str(paths), f"{rate:.1f}"),
        )
    finally:
        stop.set()
        if watch_stream:
            sampler.join()
    return Run(target, rate, CONNECTIONS, result, max(ages) if ages else None)


def median_rate(runs: list[Run]) -> float:
    return statistics.median(run.result.requests_per_second for run in runs)
