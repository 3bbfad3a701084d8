"""linkpulse's Locust entry point: `make loadtest`, `make loadtest-ui`, or the compose profile.

Settings are Locust options, each also set by a LOADTEST_* variable (loadtest/options.py,
docs/loadtesting.md). When a run starts, every process that runs users creates its own set of
links through the API; when it ends, the master (or the only process) judges the SLO gates and
prints one line per gate, last of all, and the exit code says whether they held.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
import uuid
from argparse import Namespace
from pathlib import Path
from typing import Any

import requests
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, Runner, WorkerRunner

from loadtest import gates
from loadtest.catalog import LinkCatalog, SeedError, create_links_politely
from loadtest.names import RATE_LIMITED
from loadtest.options import add_options, weight
from loadtest.server_side import server_percentiles
from loadtest.shapes import MANUAL, SHAPES, Tick
from loadtest.users import USER_CLASSES, AnalystUser, CreatorUser, LinkpulseUser, VisitorUser

# Locust runs the User classes it finds here.
__all__ = ["AnalystUser", "CreatorUser", "SelectedShape", "VisitorUser"]

try:
    THRESHOLDS = gates.thresholds()
except gates.GateConfigError as error:
    sys.exit(f"loadtest: {error}")

events.init_command_line_parser.add_listener(add_options)


def _options(environment: Environment) -> Namespace:
    if environment.parsed_options is None:  # only Locust used as a library has none
        raise RuntimeError("run loadtest/locustfile.py with Locust's command line")
    options: Namespace = environment.parsed_options
    return options


class SelectedShape(LoadTestShape):
    """The shape --shape names (loadtest/shapes.py), scaled to Locust's users, rate and run time.

    Read at every tick: in the web UI, its form changes them.
    """

    use_common_options = True

    def tick(self) -> Tick:
        assert self.runner is not None, "Locust gives a shape its runner before the first tick"
        options = _options(self.runner.environment)
        shape = SHAPES[options.shape](options.num_users, options.spawn_rate, options.run_time)
        return shape(self.get_run_time())


@events.init.add_listener
def apply_options(environment: Environment, **_: Any) -> None:
    options = _options(environment)
    if options.shape == MANUAL:
        environment.shape_class = None
    for user in USER_CLASSES:
        user.weight = weight(options, user)
    # Locust drops weightless classes only when it builds the environment, before options apply.
    environment.user_classes[:] = [user for user in environment.user_classes if user.weight > 0]
    if not environment.user_classes:
        # Exit code 2, like any other bad setting: the run never started.
        print(
            "loadtest: LOADTEST_*_WEIGHT: at least one kind of user needs a weight above 0",
            file=sys.stderr,
        )
        sys.exit(2)


@events.test_start.add_listener
def create_links(environment: Environment, **_: Any) -> None:
    if environment.runner is None or isinstance(environment.runner, MasterRunner):
        return  # the master runs no users; each worker makes its own links
    options = _options(environment)
    host = (environment.host or "").rstrip("/")
    try:
        links = create_links_politely(host, options.links, uuid.uuid4().hex[:12])
    except SeedError as error:
        # No links, no run: stop Locust, and say why last, after its (empty) summary.
        environment.process_exit_code = 2
        atexit.register(print, f"loadtest: {error}", file=sys.stderr, flush=True)
        environment.runner.quit()
        return
    LinkpulseUser.catalog = LinkCatalog(links, options.zipf_exponent)


@events.quitting.add_listener
def judge_gates(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return
    if environment.process_exit_code == 2:
        return  # the run never started: nothing to judge
    # Only the kinds that ran: one left out (weight 0) takes its gates with it.
    ran = [user for user in USER_CLASSES if user in environment.user_classes]
    active = {name for user in ran for name in user.request_names}
    limits = [t for t in THRESHOLDS if t.request_name in active]
    quantiles = gates.quantiles(limits)
    figures = {
        entry.name: gates.Figures(
            requests=entry.num_requests,
            failures=entry.num_failures,
            latency_ms={q: entry.get_response_time_percentile(q) or 0.0 for q in quantiles},
            rps=entry.total_rps,
        )
        for entry in runner.stats.entries.values()
    }
    results = gates.judge(limits, figures)
    lines = _report_lines(runner, _options(environment).prometheus_url, figures)
    lines += [r.line() for r in results]
    lines.append(gates.summary(results))
    environment.process_exit_code = 0 if all(r.passed for r in results if r.judged) else 1
    if results_dir := _options(environment).results_dir:
        _write_results(Path(results_dir), lines, results, figures)
    # Locust prints its own summary after this event: the gates go last, at interpreter exit.
    atexit.register(print, "\n".join(lines), flush=True)


def _report_lines(
    runner: Runner, prometheus_url: str, figures: dict[str, gates.Figures]
) -> list[str]:
    stats = runner.stats
    total = stats.total
    limited = sum(
        error.occurrences for error in stats.errors.values() if RATE_LIMITED in str(error.error)
    )
    lines = [
        f"run: {total.num_requests} requests, {total.total_rps:.1f}/s, "
        f"{total.num_failures} failed, of which {limited} rate limited (429)"
    ]
    if limited and limited >= 0.5 * total.num_failures and limited >= 0.01 * total.num_requests:
        lines.append(
            "run: most failures were 429s from nginx's rate limiter: this run measured the rate "
            "limiter, not the application. Exempt your own load generator with RATE_LIMIT_EXEMPT "
            "in .env, then `make up` (docs/loadtesting.md)."
        )
    # Locust clears its stats when the run starts: their start is the run's.
    window_s = round(time.time() - stats.start_time)
    try:
        server = server_percentiles(prometheus_url, window_s, time.time())
    except (requests.RequestException, KeyError, ValueError) as error:
        lines.append(f"server-side: no figures from Prometheus at {prometheus_url}: {error}")
        return lines
    for name, measured in figures.items():
        if name not in server or not measured.requests:
            continue
        p95, p99 = (f"{v:.0f} ms" if v is not None else "n/a" for v in server[name])
        locust_p95, locust_p99 = (measured.latency_ms[q] for q in gates.REPORTED_QUANTILES)
        lines.append(
            f"latency {name}: locust p95 {locust_p95:.0f} ms, p99 {locust_p99:.0f} ms"
            f" | server (Prometheus, {window_s} s) p95 {p95}, p99 {p99}"
        )
    return lines


def _write_results(
    folder: Path,
    lines: list[str],
    results: list[gates.GateResult],
    figures: dict[str, gates.Figures],
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gates.txt").write_text("\n".join(lines) + "\n")
    summary = {
        "gates": [
            {
                "request": r.threshold.request_name,
                "metric": r.threshold.metric,
                "limit": r.threshold.limit,
                "source": r.threshold.source,
                "value": r.value,
                "passed": r.passed if r.judged else None,
            }
            for r in results
        ],
        "figures": {name: f.as_dict() for name, f in figures.items()},
    }
    (folder / "gates.json").write_text(json.dumps(summary, indent=2) + "\n")
