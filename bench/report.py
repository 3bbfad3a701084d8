"""Renders benchmark results into their own marked section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

START = "<!-- bench:app:start -->"
END = "<!-- bench:app:end -->"
REDIRECT_GOAL = 0.8
WORKER_GOAL = 50_000


def _redirect_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| gunicorn worker class | app req/s | app p50 / p99 ms | bare req/s "
        "| bare p50 / p99 ms | ratio (goal ≥ 0.8) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        app, base = row["app"], row["baseline"]
        verdict = "met" if row["ratio"] >= REDIRECT_GOAL else "NOT met"
        lines.append(
            f"| {row['worker_class']} | {app['requests_per_second']:,.0f} "
            f"| {app['p50_ms']:.2f} / {app['p99_ms']:.2f} | {base['requests_per_second']:,.0f} "
            f"| {base['p50_ms']:.2f} / {base['p99_ms']:.2f} | {row['ratio']:.2f} ({verdict}) |"
        )
    return lines


def _request_cost_lines(cost: dict[str, float]) -> list[str]:
    bare, app, ping = cost["bare_request_us"], cost["app_redirect_us"], cost["redis_ping_us"]
    return [
        "Where a redirect's time goes: CPU of the Python process per request, measured in-process "
        "(`bench/request_cost.py`, no gunicorn, no client socket):",
        "",
        "| bare Flask 302 | real redirect (lookup + click event, metrics, request id) "
        "| one Redis PING on the same client |",
        "|---|---|---|",
        f"| {bare:.0f} µs | {app:.0f} µs ({app / bare:.1f} x bare) "
        f"| {ping:.0f} µs ({ping / bare:.1f} x bare) |",
    ]


def _worker_table(worker: dict[str, Any]) -> list[str]:
    xadd = worker["xadd_events_per_second"]
    lines = [
        "| batch size | worker events/s | vs redis-benchmark XADD | goal ≥ 50,000/s |",
        "|---|---|---|---|",
    ]
    for batch, rate in worker["drain"].items():
        verdict = "met" if rate >= WORKER_GOAL else "NOT met"
        lines.append(f"| {batch} | {rate:,.0f} | {rate / xadd:.2f} | {verdict} |")
    lines.append(f"| (baseline) redis-benchmark XADD, pipeline 16 | {xadd:,.0f} | 1.00 | |")
    return lines


def render(
    *,
    command: str,
    machine: str,
    when: str,
    args: argparse.Namespace,
    redirects: list[dict[str, Any]],
    request_cost: dict[str, float],
    worker: dict[str, Any],
) -> str:
    lines = [
        START,
        "## Application benchmarks",
        "",
        f"Produced by `{command}` on {when}: {machine}, {os.cpu_count()} cores. wrk, gunicorn, "
        "redis-server and the worker share the machine: read the ratios, not the absolute rates.",
        "",
        f"### Redirects: `GET /{{code}}` through gunicorn ({args.connections} connections, "
        f"median of {args.rounds} alternating {args.seconds} s runs after a 2 s warm-up)",
        "",
        "The app does the real lookup and click-event XADD in one Redis round trip; the baseline "
        "is a bare Flask app returning a fixed 302 on the same gunicorn config.",
        "",
        *_redirect_table(redirects),
        "",
        *_request_cost_lines(request_cost),
        "",
        f"### Worker: draining {worker['events']:,} click events (one worker process, "
        f"median of {args.rounds} drains)",
        "",
        "Each drain reads through the consumer group and applies aggregates + XACK atomically in "
        "the Lua step; the baseline is how fast redis-server accepts the same XADDs.",
        "",
        *_worker_table(worker),
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str, start: str = START, end: str = END) -> None:
    """Replace the marked section of `path` (or append it), leaving the rest of the file alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + "\n" + section
    path.write_text(text)
