"""make bench-stack's results: a JSON line per run, two PNG charts, a docs/benchmarks.md section."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

import slo
from bench.report import write_section
from bench.stack import linger
from bench.stack.cpu import HOST, CpuPerRedirect, cpu_per_redirect, cpu_table, median_round
from bench.stack.profile import profile_section
from linkpulse.routes import REDIRECT_ROUTE

START = "<!-- bench:stack:start -->"
END = "<!-- bench:stack:end -->"
GENERATOR_HEADROOM = 1.2
# What `make profile` leaves for the report (bench/stack/profile.py), next to the run history.
PROFILE_SUMMARY = Path("data") / "profile-web.json"


@dataclass(frozen=True)
class Goals:
    capacity_ratio: float  # stack capacity / bare Flask 302 capacity, same serving
    load_fraction: float  # of the stack's capacity, where latency and lag are judged
    p99_ms: float  # redirect p99 there (the SLO's latency threshold)
    event_age_ms: float  # oldest unprocessed click there
    drain_ratio: float  # one worker's drain / redis-benchmark XADD pipeline 16
    cpu_ratio: float  # CPU per redirect, all the stack's containers / the reference's


def _goals() -> Goals:
    _, threshold_seconds = slo.load_spec().latency_limit(REDIRECT_ROUTE)
    return Goals(0.8, 0.8, threshold_seconds * 1000, 1000.0, 0.5, 1.25)


GOALS = _goals()


def summary(result: dict[str, Any]) -> dict[str, float]:
    """The run's closing figures: each goal's measured value."""
    medians = result["capacity_median"]
    at_goal_load = [
        run for run in result["latency"]
        if run["target"] == "stack" and run["offered_per_second"] is not None
        and abs(run["offered_per_second"] / medians["stack"] - GOALS.load_fraction) < 0.01
    ]  # fmt: skip
    worker = result["worker"]
    return {
        "capacity_ratio": medians["stack"] / medians["reference"],
        "generator_headroom": medians["static"] / medians["reference"],
        "p99_ms_at_80": statistics.median(run["result"]["p99_ms"] for run in at_goal_load),
        "event_age_ms_at_80": max(run["max_event_age_ms"] or 0 for run in at_goal_load),
        "drain_ratio": statistics.median(
            w["drain_per_second"] / w["xadd_per_second"] for w in worker
        ),
    }


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _capacity_chart(result: dict[str, Any], path: Path) -> None:
    labels = {
        "stack": "stack (nginx → web)",
        "reference": "bare Flask 302\n(nginx → gunicorn)",
        "static": "nginx static 302",
    }
    figure, axes = plt.subplots(figsize=(8, 4))
    names = list(labels)
    medians = [result["capacity_median"][name] for name in names]
    axes.bar([labels[name] for name in names], medians, color=["tab:blue", "tab:gray", "tab:olive"])
    for position, name in enumerate(names):
        rates = [run["result"]["requests_per_second"] for run in result["capacity"][name]]
        axes.scatter([position] * len(rates), rates, color="black", s=12, zorder=3)
    goal = GOALS.capacity_ratio * result["capacity_median"]["reference"]
    axes.axhline(
        goal, color="tab:red", linestyle="--", label=f"goal: {GOALS.capacity_ratio}x bare Flask"
    )
    axes.set_ylabel("redirects/s without errors (bars: median; dots: rounds)")
    axes.set_title(f"Redirect capacity through nginx ({result['when']})")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _latency_chart(result: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4))
    for target, color in (("stack", "tab:blue"), ("reference", "tab:gray")):
        runs = sorted(
            (r for r in result["latency"] if r["target"] == target),
            key=lambda r: r["result"]["requests_per_second"],
        )
        rates = [r["result"]["requests_per_second"] for r in runs]
        axes.plot(
            rates, [r["result"]["p99_ms"] for r in runs], "o-", color=color, label=f"{target} p99"
        )
        axes.plot(
            rates, [r["result"]["p50_ms"] for r in runs], "o:", color=color, label=f"{target} p50"
        )
    axes.axhline(
        GOALS.p99_ms, color="tab:red", linestyle="--", label=f"p99 goal {GOALS.p99_ms:.0f} ms"
    )
    axes.set_yscale("log")
    axes.set_xlabel("served redirects/s (offered: 25, 50, 80, 100 % of each one's capacity)")
    axes.set_ylabel("latency at the client, ms")
    axes.set_title("Redirect latency against load")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _capacity_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| served by | median redirects/s | rounds | p50 / p99 ms (median round) | vs bare Flask |",
        "|---|---|---|---|---|",
    ]
    names = {"stack": "stack: nginx → web (real redirect + click event)",
             "reference": "bare Flask 302: the same nginx → the same gunicorn settings",
             "static": "nginx answering a static 302 (generator check)"}  # fmt: skip
    reference = result["capacity_median"]["reference"]
    for target, label in names.items():
        runs = result["capacity"][target]
        middle = median_round(runs)
        rounds = ", ".join(
            f"{r['result']['requests_per_second']:,.0f}"
            + (f" (c={r['connections']})" if r["connections"] != 64 else "")
            for r in runs
        )
        lines.append(
            f"| {label} | {result['capacity_median'][target]:,.0f} | {rounds} "
            f"| {middle['result']['p50_ms']:.1f} / {middle['result']['p99_ms']:.1f} "
            f"| {result['capacity_median'][target] / reference:.2f} |"
        )
    return lines


def _host_cores(result: dict[str, Any]) -> str:
    cores = [
        (median_round(result["capacity"][target]).get("cores_used") or {}).get(HOST)
        for target in ("stack", "reference")
    ]
    if None in cores:
        return ""
    return (
        f" The host (every process, wrk and other work included) used {cores[0]:.2f} cores in "
        f"the stack's round and {cores[1]:.2f} in the reference's."
    )


def _latency_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| served by | offered /s | served /s | p50 ms | p99 ms | errors "
        "| oldest unprocessed click ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in result["latency"]:
        res = run["result"]
        age = "" if run["max_event_age_ms"] is None else f"{run['max_event_age_ms']:,}"
        lines.append(
            f"| {run['target']} | {run['offered_per_second']:,.0f} "
            f"| {res['requests_per_second']:,.0f} | {res['p50_ms']:.1f} | {res['p99_ms']:.1f} "
            f"| {res['bad_responses']} | {age} |"
        )
    return lines


def _worker_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| round | worker drain events/s | redis-benchmark XADD -P 16 events/s | ratio |",
        "|---|---|---|---|",
    ]
    for number, row in enumerate(result["worker"], start=1):
        lines.append(
            f"| {number} | {row['drain_per_second']:,.0f} | {row['xadd_per_second']:,.0f} "
            f"| {row['drain_per_second'] / row['xadd_per_second']:.2f} |"
        )
    return lines


def _history_table(history: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| run | settings | capacity vs bare Flask (>= 0.8) | p99 at 80 % ms (< 100) "
        "| oldest click at 80 % ms (< 1000) | drain vs XADD (>= 0.5) "
        "| static 302 vs bare Flask | load average (1 min) start, end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in history[-6:]:
        figures = summary(run)
        settings = ", ".join(f"{k}={v}" for k, v in sorted(run.get("settings", {}).items()))
        load = run.get("load_average")
        load_cell = f"{load['start']:.1f}, {load['end']:.1f}" if load else "not recorded"
        lines.append(
            f"| {run['when']} | {settings} | {figures['capacity_ratio']:.2f} "
            f"| {figures['p99_ms_at_80']:.1f} "
            f"| {figures['event_age_ms_at_80']:,.0f} | {figures['drain_ratio']:.2f} "
            f"| {figures['generator_headroom']:.2f} | {load_cell} |"
        )
    return lines


def _cpu_goal_met(split: CpuPerRedirect | None) -> bool:
    return split is not None and split.ratio <= GOALS.cpu_ratio


def _goal_rows(result: dict[str, Any], split: CpuPerRedirect | None) -> list[str]:
    figures, load = summary(result), f"{GOALS.load_fraction:.0%}"
    rows = [
        (
            f"redirect capacity through nginx >= {GOALS.capacity_ratio}x bare Flask 302 "
            "served the same way",
            f"{figures['capacity_ratio']:.2f}x",
            figures["capacity_ratio"] >= GOALS.capacity_ratio,
        ),
        (
            f"CPU per redirect, every container of the stack <= {GOALS.cpu_ratio}x the "
            "reference's (median rounds; by container below)",
            "not measured" if split is None else f"{split.ratio:.2f}x",
            _cpu_goal_met(split),
        ),
        (
            f"p99 < {GOALS.p99_ms:.0f} ms at {load} of capacity (median of {result['rounds']})",
            f"{figures['p99_ms_at_80']:.1f} ms",
            figures["p99_ms_at_80"] < GOALS.p99_ms,
        ),
        (
            f"oldest unprocessed click < {GOALS.event_age_ms:,.0f} ms at {load} (max reading)",
            f"{figures['event_age_ms_at_80']:,.0f} ms",
            figures["event_age_ms_at_80"] < GOALS.event_age_ms,
        ),
        (
            f"one worker drains >= {GOALS.drain_ratio}x redis-benchmark XADD pipeline 16",
            f"{figures['drain_ratio']:.2f}x",
            figures["drain_ratio"] >= GOALS.drain_ratio,
        ),
        (
            "generator check: nginx's static 302 well above the bare Flask 302 (> 1.2x)",
            f"{figures['generator_headroom']:.2f}x",
            figures["generator_headroom"] > GENERATOR_HEADROOM,
        ),
    ]
    return [
        "| goal | this run | verdict |",
        "|---|---|---|",
        *(f"| {goal} | {value} | {_verdict(met)} |" for goal, value, met in rows),
    ]


def _profile_lines(split: CpuPerRedirect | None, profile: dict[str, Any] | None) -> list[str]:
    if _cpu_goal_met(split):
        return []
    heading = "Where the remaining microseconds go"
    if profile is None:
        return [f"{heading}: no profile yet (`make profile`, then bench/stack/profile.py).", ""]
    web_us = None if split is None else split.stack_us.get("web")
    return [f"{heading}:", "", *profile_section(profile, web_us), ""]


def render(
    result: dict[str, Any],
    history: list[dict[str, Any]],
    profile: dict[str, Any] | None = None,
) -> str:
    """The docs section; `profile` (bench/stack/profile.py's summary) explains a missed CPU goal."""
    command = result["command"]
    split = cpu_per_redirect(result)
    lines = [
        START,
        "## Container stack performance (`make bench-stack`)",
        "",
        f"Produced by `{command}` on {result['when']} ({result['machine']}, "
        f"{result['wall_seconds']} s of measuring), in its own project `linkpulse-bench` "
        f"(port 28580) with the settings {result['settings']}. wrk on the host, "
        f"{result['rounds']} alternating rounds of {result['seconds']} s, medians. Everything "
        "shares the machine's cores with the generator: read the ratios.",
        "",
        *_goal_rows(result, split),
        "",
        f"### Capacity: the highest rate without errors (`{command}`)",
        "",
        "wrk sends as fast as answers come, 64 connections (halved while any error appears), "
        "random paths among the bench's links. The bare Flask app (bench/bare_app.py) runs on "
        "web's image, gunicorn config, worker settings and CPU limit, behind the stack's nginx "
        "image and configuration (docker-compose.bench.yml).",
        "",
        *_capacity_table(result),
        "",
        "![capacity](images/bench-stack-capacity.png)",
        "",
        "Where the CPU went in the median rounds: each container's cgroup CPU time over the "
        "round's rate; the stack's containers in its round, the reference's in theirs, and a "
        "ratio where a container does the reference's job." + _host_cores(result),
        "",
        *cpu_table(split),
        "",
        *_profile_lines(split, profile),
        f"### Latency against offered load (`{command}`)",
        "",
        "wrk paced to a fixed rate (bench/stack/paced.lua), a fraction of each one's own "
        "capacity. The oldest unprocessed click is read from the stream a few times a second "
        "during the stack's runs (bench/stack/stream_probe.lua).",
        "",
        *_latency_table(result),
        "",
        "![latency](images/bench-stack-latency.png)",
        "",
        f"### Worker drain (`{command}`)",
        "",
        "Each round: redis-benchmark XADD with pipeline 16 in the redis container, then the "
        "stack's one worker (paused while the backlog is written) draining as many click "
        "events, Zipf-distributed over the links.",
        "",
        *_worker_table(result),
        "",
        *linger.render(result),
        "",
        "### Runs so far (docs/data/bench-stack-runs.jsonl)",
        "",
        *_history_table(history),
        END,
    ]
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], output: Path) -> None:
    docs = output.parent
    history_path = docs / "data" / "bench-stack-runs.jsonl"
    history_path.parent.mkdir(parents=True, exist_ok=True)
    with history_path.open("a") as history_file:
        history_file.write(json.dumps(result) + "\n")
    history = [json.loads(line) for line in history_path.read_text().splitlines() if line.strip()]
    (docs / "images").mkdir(exist_ok=True)
    _capacity_chart(result, docs / "images" / "bench-stack-capacity.png")
    _latency_chart(result, docs / "images" / "bench-stack-latency.png")
    profile_path = docs / PROFILE_SUMMARY
    profile = json.loads(profile_path.read_text()) if profile_path.exists() else None
    write_section(output, render(result, history, profile), START, END)
    print(json.dumps(summary(result)))
    print(f"wrote {output}, {history_path} and two charts in {docs / 'images'}")
