"""The rehearsal's chart: requests/s, failed requests and p99 latency over time, with every
deploy and rollback marked, so a reader can see the zero-downtime claim for themselves."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from rehearsal.load import Sample
from rehearsal.scenario import Step


def per_second(
    samples: list[Sample], planned: frozenset[str] = frozenset()
) -> tuple[list[int], list[int], list[int], list[int], list[float]]:
    """Per second: answered, failed in a deploy step, failed in a PLANNED outage, and p99 (ms)."""
    ok: dict[int, int] = defaultdict(int)
    failed: dict[int, int] = defaultdict(int)
    outage: dict[int, int] = defaultdict(int)
    latencies: dict[int, list[float]] = defaultdict(list)
    for sample in samples:
        second = int(sample.at)
        if sample.ok:
            ok[second] += 1
        elif sample.phase in planned:
            outage[second] += 1
        else:
            failed[second] += 1
        latencies[second].append(sample.latency_s)
    if not latencies:
        return [], [], [], [], []
    seconds = list(range(min(latencies), max(latencies) + 1))
    p99 = []
    for second in seconds:
        values = sorted(latencies.get(second, []))
        p99.append(
            values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)] * 1000
            if values
            else math.nan
        )
    return (
        seconds,
        [ok[s] for s in seconds],
        [failed[s] for s in seconds],
        [outage[s] for s in seconds],
        p99,
    )


def short_label(step: Step) -> str:
    """'3 deploy C (fails health check)' -> '3 deploy C: rolled back, 35s'."""
    name = step.name.split(" (")[0]
    return f"{name}\n{'rolled back' if step.exit_code != 0 else 'ok'}, {step.duration_s:.0f}s"


def draw(
    samples: list[Sample], steps: list[Step], path: Path, planned: frozenset[str] = frozenset()
) -> None:
    seconds, ok, failed, outage, p99 = per_second(samples, planned)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(13, 7), sharex=True, height_ratios=[3, 2])
    top.plot(seconds, ok, color="tab:blue", linewidth=1, label="answered requests/s")
    top.bar(
        seconds,
        failed,
        color="tab:red",
        width=1.0,
        label=f"failed requests/s in deploys and rollbacks (total {sum(failed)})",
    )
    if any(outage):
        top.bar(
            seconds,
            outage,
            color="tab:gray",
            width=1.0,
            alpha=0.6,
            label=f"failed during the planned move to Swarm (total {sum(outage)})",
        )
    top.set_ylabel("requests / s")
    top.set_ylim(bottom=0)
    bottom.plot(seconds, p99, color="tab:purple", linewidth=1, label="client-side p99 per second")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("seconds since the rehearsal started")
    bottom.set_yscale("log")
    colours = {"deploy": "tab:green", "rollback": "tab:orange"}
    shown = [step for step in steps if step.name != "provision"]
    for row, step in enumerate(shown):
        if step.name in planned:
            colour = "tab:gray"
        elif step.exit_code != 0:
            colour = "tab:red"
        else:
            colour = colours["rollback" if "rollback" in step.name else "deploy"]
        for axis in (top, bottom):
            axis.axvspan(step.started_at, step.ended_at, color=colour, alpha=0.12)
        # Three rows of labels: neighbouring steps are often shorter than their label.
        top.annotate(
            short_label(step),
            xy=(step.started_at, 1.01 + 0.11 * (row % 3)),
            xycoords=("data", "axes fraction"),
            fontsize=7,
        )
    top.legend(loc="lower right", fontsize=8)
    bottom.legend(loc="upper right", fontsize=8)
    figure.suptitle(
        "linkpulse rehearsal: deploys and rollbacks under load, on one VM (compose) then on Swarm",
        y=0.995,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
