"""`make bench`: measures the redirect path and the worker, writes docs/benchmarks.md.

Every figure is paired with a baseline taken in the same run on the same machine, so the
ratios stay meaningful on a busy or a different machine where absolute numbers do not.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests

from bench.drain import measure_drain
from bench.report import render, write_section
from bench.request_cost import measure as measure_request_cost
from bench.wrk import LoadResult, run_wrk
from tests.support.live_app import REPO_ROOT, running_web
from tests.support.redis_server import RedisServer, free_port

WORKER_CLASSES = (("sync", "1"), ("gthread", "4"))
BATCH_SIZES = (100, 500, 1000)


def _create_link(base_url: str) -> str:
    response = requests.post(
        f"{base_url}/api/links", json={"url": "https://example.org/landing"}, timeout=5
    )
    response.raise_for_status()
    code: str = response.json()["code"]
    return code


def _median_run(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda result: result.requests_per_second)[len(results) // 2]


def bench_redirects(
    redis_url: str, seconds: int, connections: int, rounds: int
) -> list[dict[str, object]]:
    """Per worker class: app and baseline run side by side, measured in alternating rounds.

    Alternating spreads this machine's noise (a shared VM) evenly over both, and the
    median round of each is reported.
    """
    rows: list[dict[str, object]] = []
    for worker_class, threads in WORKER_CLASSES:
        env = {"GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_THREADS": threads}
        with (
            running_web(redis_url, env, app_spec="bench.bare_app:create_app()") as bare_base,
            running_web(redis_url, env) as app_base,
        ):
            bare_url, app_url = f"{bare_base}/abcdefg", f"{app_base}/{_create_link(app_base)}"
            for url in (bare_url, app_url):
                run_wrk(url, seconds=2, connections=connections)
            bare_runs, app_runs = [], []
            for _ in range(rounds):
                bare_runs.append(run_wrk(bare_url, seconds=seconds, connections=connections))
                app_runs.append(run_wrk(app_url, seconds=seconds, connections=connections))
        app, baseline = _median_run(app_runs), _median_run(bare_runs)
        rows.append(
            {
                "worker_class": f"{worker_class} (threads={threads})",
                "app": asdict(app),
                "baseline": asdict(baseline),
                "ratio": app.requests_per_second / baseline.requests_per_second,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_xadd_baseline(port: int, events: int) -> float:
    completed = subprocess.run(
        [
            "redis-benchmark", "-p", str(port), "-n", str(events), "-P", "16", "--csv",
            "XADD", "bench:xadd", "*", "code", "abcdefg", "ts", "1700000000000",
            "ref", "example.org", "ua", "desktop", "vh", "0" * 32, "rid", "r" * 32,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = completed.stdout.strip().splitlines()[-1]
    return float(last.split(",")[1].strip('"'))


def bench_worker(server: RedisServer, events: int, rounds: int) -> dict[str, object]:
    client = redis.Redis.from_url(server.url)
    client.flushall()
    xadd_rps = bench_xadd_baseline(server.port, events)
    client.flushall()
    drains: dict[str, float] = {}
    for batch_size in BATCH_SIZES:
        rates = []
        for _ in range(rounds):
            client.flushall()
            rates.append(measure_drain(server.url, events, batch_size))
        drains[str(batch_size)] = sorted(rates)[len(rates) // 2]
        print(f"worker batch={batch_size}: {drains[str(batch_size)]:.0f} events/s", flush=True)
    return {"events": events, "xadd_events_per_second": xadd_rps, "drain": drains}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure; the median is kept")
    parser.add_argument("--events", type=int, default=200_000, help="events per worker drain")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="linkpulse-bench-") as data_dir:
        server = RedisServer(port=free_port(), data_dir=Path(data_dir))
        server.start()
        try:
            redirects = bench_redirects(server.url, args.seconds, args.connections, args.rounds)
            request_cost = measure_request_cost(server.url)
            print(json.dumps(request_cost), flush=True)
            worker = bench_worker(server, args.events, args.rounds)
        finally:
            server.stop()

    command = " ".join(["make bench", *sys.argv[1:]]) if len(sys.argv) > 1 else "make bench"
    machine = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = render(
        command=command,
        machine=machine,
        when=when,
        args=args,
        redirects=redirects,
        request_cost=request_cost,
        worker=worker,
    )
    write_section(args.output, section)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
