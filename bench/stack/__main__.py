"""`make bench-stack`: the running bench project's redirect capacity, latency and worker drain.

The Makefile brings the stack up (project linkpulse-bench, its own ports and env file, with
docker-compose.bench.yml's references) and takes it down after. Everything here is measured
in one window in alternating rounds, and every goal is a ratio against a baseline of the same
run: the stack through its nginx against the bare Flask 302 served the same way, and one
worker's drain against redis-benchmark XADD.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.stack import drain, linger, load
from bench.stack.compose import containers_by_service, published
from bench.stack.report import GOALS, write_report

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("stack", "reference", "static")
LATENCY_FRACTIONS = (0.25, 0.5, 0.8, 1.0)


def create_links(base_url: str, count: int) -> list[str]:
    """Real links through the stack's API (the generator's address is exempt from limits)."""
    session = requests.Session()
    codes = []
    for number in range(count):
        response = session.post(
            f"{base_url}/api/links",
            json={"url": f"https://example.org/landing/{number}"},
            timeout=10,
        )
        response.raise_for_status()
        codes.append(response.json()["code"])
    return codes


def settings() -> dict[str, str]:
    """The stack settings the figures depend on, as compose resolved them."""
    names = (
        "WEB_CPUS",
        "WEB_CONCURRENCY",
        "GUNICORN_WORKER_CLASS",
        "GUNICORN_THREADS",
        "WEB_ACCESS_LOG_SAMPLE",
        "WORKER_BATCH_SIZE",
        "WORKER_BATCH_LINGER_MS",
    )
    env_file = os.environ.get("COMPOSE_ENV_FILES", "")
    values = {}
    if env_file and Path(env_file).exists():
        for line in Path(env_file).read_text().splitlines():
            key, _, value = line.partition("=")
            if key in names:
                values[key] = value
    return values


def _worker_figures(
    args: argparse.Namespace, codes: list[str], url: str, paths: Path
) -> dict[str, Any]:
    """The drain rounds against redis-benchmark XADD, then the linger's CPU figure."""
    worker: list[dict[str, float]] = []
    for number in range(args.rounds):
        events = drain.zipf_events(codes, args.events, seed=number)
        baseline = drain.xadd_baseline(args.events)
        rate = drain.measure_drain(events)
        worker.append({"xadd_per_second": baseline, "drain_per_second": rate})
        print(f"worker round {number + 1}: drain {rate:,.0f}/s, XADD {baseline:,.0f}/s", flush=True)
    return {
        "worker": worker,
        "linger": linger.measure(url, paths, args.seconds, args.linger_rate, args.rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stack", description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians kept")
    parser.add_argument("--links", type=int, default=300, help="links the redirects pick from")
    parser.add_argument("--events", type=int, default=100_000, help="events per worker drain")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--linger-rate", type=float, default=600, help="paced redirects/s for the linger figure"
    )
    parser.add_argument(
        "--worker-only",
        action="store_true",
        help="only the worker's drain and linger rounds, printed; docs/benchmarks.md untouched",
    )
    args = parser.parse_args()

    urls = {
        "stack": published("nginx", 8080),
        "reference": published("reference-nginx", 8080),
        "static": published("reference-nginx", 8082),
    }
    containers = containers_by_service()
    started = time.time()
    # The machine is shared: the load it carried says how far to trust the absolute rates.
    load_at_start = os.getloadavg()[0]
    codes = create_links(urls["stack"], args.links)
    with tempfile.TemporaryDirectory(prefix="linkpulse-bench-stack-") as scratch:
        paths = Path(scratch) / "paths.txt"
        paths.write_text("".join(f"/{code}\n" for code in codes))

        if args.worker_only:
            # Some redirects first: the group's entries-read, which the drain's readings
            # need, is unknown until it has read an entry added after it was created.
            load.capacity_run("stack", urls["stack"], paths, 3)
            result = _worker_figures(args, codes, urls["stack"], paths)
            print(json.dumps(result))
            return
        for target in TARGETS:  # warm-up: connection pools, imports, caches
            load.capacity_run(target, urls[target], paths, 3)
        capacity: dict[str, list[load.Run]] = {target: [] for target in TARGETS}
        for number in range(args.rounds):
            for target in TARGETS:
                run = load.capacity_run(target, urls[target], paths, args.seconds, containers)
                capacity[target].append(run)
                print(
                    f"capacity round {number + 1} {target}: "
                    f"{run.result.requests_per_second:,.0f}/s "
                    f"(c={run.connections}, errors {run.result.bad_responses})",
                    flush=True,
                )
        medians = {target: load.median_rate(runs) for target, runs in capacity.items()}

        latency: list[load.Run] = []
        for fraction in LATENCY_FRACTIONS:
            repeats = args.rounds if fraction == GOALS.load_fraction else 1
            for _ in range(repeats):
                for target in ("stack", "reference"):
                    rate = fraction * medians[target]
                    run = load.paced_run(
                        target, urls[target], paths, args.seconds, rate, target == "stack"
                    )
                    latency.append(run)
                    print(
                        f"paced {fraction:.2f} {target}: offered {rate:,.0f}/s, got "
                        f"{run.result.requests_per_second:,.0f}/s, p99 {run.result.p99_ms:.1f} ms, "
                        f"oldest event {run.max_event_age_ms} ms",
                        flush=True,
                    )
        worker_figures = _worker_figures(args, codes, urls["stack"], paths)

    result = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["make bench-stack", *sys.argv[1:]]),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "settings": settings(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "wall_seconds": round(time.time() - started),
        "load_average": {"start": load_at_start, "end": os.getloadavg()[0]},
        "capacity": {t: [r.as_dict() for r in runs] for t, runs in capacity.items()},
        "capacity_median": medians,
        "latency": [r.as_dict() for r in latency],
        **worker_figures,
    }
    write_report(result, args.output)


if __name__ == "__main__":
    main()
