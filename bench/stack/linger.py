"""The worker's CPU per event under redirect load, with its batch linger off and on.

Under paced redirects the stream gets a few events per millisecond; without the linger the
worker applies batches of one or two and pays the per-batch cost (the script call, redis-py's
per-command work) per event. Each round recreates the worker container with the linger
setting (the rest of the stack keeps running), offers the same paced load, waits until the
worker has caught up, and divides the events (the redirects served) by the worker
container's CPU seconds over the whole window, the catching up included.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from bench.stack import drain, load
from bench.stack.compose import compose, containers_by_service, cpu_seconds, stream_probe

SETTING = "WORKER_BATCH_LINGER_MS"
SERVICE = "worker"


def _recreate_worker(linger_ms: str | None) -> None:
    """The worker container recreated with the linger (None: the stack's own setting); the
    shell's value wins over the env file's when compose interpolates it."""
    if linger_ms is None:
        os.environ.pop(SETTING, None)
    else:
        os.environ[SETTING] = linger_ms
    compose("up", "-d", "--no-deps", "--force-recreate", "--wait", SERVICE)


def events_per_cpu_second(url: str, paths: Path, seconds: int, rate: float) -> float:
    container = {SERVICE: containers_by_service()[SERVICE]}
    with stream_probe() as probe:
        drain.wait_caught_up(probe)
        before = cpu_seconds(container)[SERVICE]
        run = load.paced_run("stack", url, paths, seconds, rate, watch_stream=False)
        drain.wait_caught_up(probe)
        used = cpu_seconds(container)[SERVICE] - before
    served = run.result.requests - run.result.bad_responses
    return served / used


def measure(url: str, paths: Path, seconds: int, rate: float, rounds: int) -> dict[str, Any]:
    """Alternating rounds, linger 0 then the stack's own; the worker is left as configured."""
    figures: dict[str, list[float]] = {"0": [], "default": []}
    try:
        for _ in range(rounds):
            for label, values in figures.items():
                _recreate_worker("0" if label == "0" else None)
                rate_per_cpu = events_per_cpu_second(url, paths, seconds, rate)
                values.append(rate_per_cpu)
                print(
                    f"linger {label}: {rate_per_cpu:,.0f} events per worker CPU-second "
                    f"at {rate:,.0f} redirects/s",
                    flush=True,
                )
    finally:
        _recreate_worker(None)
    return {"offered_per_second": rate, "seconds": seconds, "events_per_cpu_second": figures}


def render(result: dict[str, Any]) -> list[str]:
    """The report's lines for the linger figure (empty for a run that did not measure it)."""
    linger = result.get("linger")
    if not linger:
        return []
    settings = result.get("settings", {})
    default = settings.get(SETTING, "the stack's default")
    lines = [
        f"Worker CPU under redirect load: {linger['offered_per_second']:,.0f} redirects/s paced "
        f"for {linger['seconds']} s, events per CPU-second of the worker container (its cgroup) "
        f"until it caught up, with {SETTING}=0 and with {SETTING}={default}:",
        "",
        "| linger | events per worker CPU-second, each round | median |",
        "|---|---|---|",
    ]
    for label, values in linger["events_per_cpu_second"].items():
        name = "0 (off)" if label == "0" else f"{default} ms"
        rounds = ", ".join(f"{value:,.0f}" for value in values)
        lines.append(f"| {name} | {rounds} | {statistics.median(values):,.0f} |")
    return lines
