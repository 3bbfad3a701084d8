"""linkpulse's Locust entry point: `make loadtest`, `make loadtest-ui`, or the compose profile.

Settings come from LOADTEST_* variables (loadtest/settings.py, docs/loadtesting.md). When a run
starts, every process that runs users creates its own set of links through the API; when it ends,
the master (or the only process) judges the SLO gates and prints one line per gate, last of all,
and the exit code says whether they held.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest import gates
from loadtest.catalog import LinkCatalog, SeedError, create_links_politely
from loadtest.names import CREATE, CREATE_INVALID, LINK, RATE_LIMITED, REDIRECT, STATS, STATS_PAGE
from loadtest.server_side import server_percentiles
from loadtest.settings import LoadTestSettings, SettingsError
from loadtest.shapes import SHAPES
from loadtest.users import Analyst, Creator, Visitor

try:
    SETTINGS = LoadTestSettings.from_environ()
    THRESHOLDS = gates.thresholds()
except (SettingsError, gates.GateConfigError) as error:
    sys.exit(f"loadtest: {error}")


def _user_class(base: type, weight: int, names: tuple[str, ...]) -> type:
    # A weight of 0 leaves the type out of the run (abstract), and its gates with it.
    return type(
        f"{base.__name__}User",
        (base,),
        {"weight": weight, "host": SETTINGS.host, "abstract": weight == 0, "request_names": names},
    )


VisitorUser = _user_class(Visitor, SETTINGS.visitor_weight, (REDIRECT,))
CreatorUser = _user_class(Creator, SETTINGS.creator_weight, (CREATE, CREATE_INVALID))
AnalystUser = _user_class(Analyst, SETTINGS.analyst_weight, (LINK, STATS, STATS_PAGE))

if SETTINGS.shape != "manual":

    class SelectedShape(LoadTestShape):
        """The shape LOADTEST_SHAPE names (loadtest/shapes.py)."""

        def __init__(self) -> None:
            super().__init__()
            self._tick = SHAPES[SETTINGS.shape](
                SETTINGS.users, SETTINGS.spawn_rate, SETTINGS.duration_s
            )

        def tick(self) -> tuple[int, float] | None:
            return self._tick(self.get_run_time())


@events.test_start.add_listener
def create_links(environment: Environment, **_: Any) -> None:
    environment.linkpulse_started = time.time()  # type: ignore[attr-defined]
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no users; each worker makes its own links
    run = uuid.uuid4().hex[:12]
    try:
        links = create_links_politely(SETTINGS.host, SETTINGS.links, run)
    except SeedError as error:
        # No links, no run: stop Locust, and say why last, after its (empty) summary.
        environment.process_exit_code = 2
        atexit.register(print, f"loadtest: {error}", file=sys.stderr, flush=True)
        environment.runner.quit()  # type: ignore[union-attr]
        return
    environment.linkpulse_catalog = LinkCatalog(links, SETTINGS.zipf_exponent)  # type: ignore[attr-defined]


@events.quitting.add_listener
def judge_gates(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return
    if environment.process_exit_code == 2:
        return  # the run never started: nothing to judge
    active = {
        name
        for cls in (VisitorUser, CreatorUser, AnalystUser)
        if not cls.abstract  # type: ignore[attr-defined]
        for name in cls.request_names  # type: ignore[attr-defined]
    }
    stats = environment.runner.stats
    figures = {
        entry.name: gates.Figures(
            requests=entry.num_requests,
            failures=entry.num_failures,
            p95_ms=entry.get_response_time_percentile(0.95) or 0.0,
            p99_ms=entry.get_response_time_percentile(0.99) or 0.0,
            rps=entry.total_rps,
        )
        for entry in stats.entries.values()
    }
    results = gates.judge([t for t in THRESHOLDS if t.request_name in active], figures)
    lines = _report_lines(environment, figures) + [r.line() for r in results]
    lines.append(gates.summary(results))
    environment.process_exit_code = 0 if all(r.passed for r in results if r.judged) else 1
    if SETTINGS.results_dir:
        _write_results(Path(SETTINGS.results_dir), lines, results, figures)
    # Locust prints its own summary after this event: the gates go last, at interpreter exit.
    atexit.register(print, "\n".join(lines), flush=True)


def _report_lines(environment: Environment, figures: dict[str, gates.Figures]) -> list[str]:
    stats = environment.runner.stats  # type: ignore[union-attr]
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
    started = getattr(environment, "linkpulse_started", time.time())
    window_s = round(time.time() - started)
    try:
        server = server_percentiles(SETTINGS.prometheus_url, window_s, time.time())
    except (requests.RequestException, KeyError, ValueError) as error:
        lines.append(
            f"server-side: no figures from Prometheus at {SETTINGS.prometheus_url}: {error}"
        )
        return lines
    for name, measured in figures.items():
        if name not in server or not measured.requests:
            continue
        p95, p99 = (f"{v:.0f} ms" if v is not None else "n/a" for v in server[name])
        lines.append(
            f"latency {name}: locust p95 {measured.p95_ms:.0f} ms, p99 {measured.p99_ms:.0f} ms"
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
        "figures": {name: vars(f) for name, f in figures.items()},
    }
    (folder / "gates.json").write_text(json.dumps(summary, indent=2) + "\n")
