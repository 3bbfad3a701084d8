"""`python -m loadtest [run [BASELINE]|ui|chart DIR|compare BASELINE NEW]`: behind `make loadtest*`.

run    headless, gates on; results in loadtest/results/<UTC time>-<shape>/ (report.html, Locust's
       CSV files, chart.png, gates.txt); exits with the gates' verdict; given BASELINE (a
       results folder), then compares the run with it and fails on a regression too
ui     Locust's web UI on 127.0.0.1:8089 (LOADTEST_* settings apply)
chart  redraw DIR/chart.png from DIR's CSV history
compare
       judge the run in NEW against the run in BASELINE (two results folders) with the tolerances of
       slo/tolerances.toml; prints the table, draws NEW/compare.png, exits 1 on a regression or an
       inconclusive comparison, 2 when a folder is not a run

Locust's parser reads the settings here too (loadtest/options.py), so that a bad one stops the run
before Locust starts. (Importing Locust patches this process with gevent: subprocess still works.)
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

from linkpulse.routes import REDIRECT_ROUTE
from loadtest import compare as comparison
from loadtest import options
from loadtest.chart import draw_chart, draw_comparison
from loadtest.gates import percent
from slo import judgement, load_spec, load_tolerances

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
RESULTS = HERE / "results"


def _chart(folder: Path, title: str) -> None:
    quantile, seconds = load_spec().latency_limit(REDIRECT_ROUTE)
    draw_chart(
        folder / "locust_stats_history.csv",
        folder / "chart.png",
        title,
        (f"redirect p{percent(quantile)} SLO", seconds * 1000),
    )


def _locust() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def run(settings: Namespace, baseline: Path | None = None) -> int:
    folder = (
        Path(settings.results_dir)
        if settings.results_dir
        else RESULTS / (datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{settings.shape}")
    )
    folder.mkdir(parents=True, exist_ok=True)
    print(
        f"loadtest: {settings.shape} to {settings.num_users} users for {settings.run_time} s "
        f"against {settings.host}; results in {folder}",
        flush=True,
    )
    command = [
        *_locust(),
        "--results-dir",
        str(folder),
        "--headless",
        "--only-summary",
        # The gates decide the exit code, not Locust's "any failure at all" rule.
        "--exit-code-on-error",
        "0",
        "--csv",
        str(folder / "locust"),
        "--csv-full-history",
        "--html",
        str(folder / "report.html"),
    ]
    started = time.monotonic()
    code = subprocess.run(command, check=False).returncode
    wall_s = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = usage.ru_utime + usage.ru_stime
    print(
        f"generator: Locust used {cpu_s:.1f} CPU-seconds in {wall_s:.0f} s, "
        f"{cpu_s / wall_s:.2f} of one core",
        flush=True,
    )
    # Exit code 2: the run never started (no links could be made); there is nothing to draw.
    if code != 2 and (folder / "locust_stats_history.csv").exists():
        _chart(folder, f"linkpulse load test: {folder.name}")
        print(f"chart: {folder / 'chart.png'}", flush=True)
    if baseline is not None and code != 2:
        code = max(code, compare(baseline, folder))
    return code


def ui() -> int:
    command = [*_locust(), "--web-host", "127.0.0.1", "--web-port", "8089"]
    return subprocess.run(command, check=False).returncode


def compare(baseline: Path, new: Path) -> int:
    tolerances = load_tolerances()
    try:
        rows = comparison.compare(
            comparison.read_run(baseline, tolerances.latency_quantiles),
            comparison.read_run(new, tolerances.latency_quantiles),
            tolerances,
        )
    except comparison.RunError as error:
        print(f"compare: {error}", file=sys.stderr)
        return 2
    print(f"compare: {new} against the baseline {baseline} (slo/tolerances.toml)")
    print(judgement.table(rows, subject="type"))
    history = comparison.STATS_CSV.replace(".csv", "_history.csv")
    if (baseline / history).exists() and (new / history).exists():
        draw_comparison(
            baseline / history, new / history, new / "compare.png", f"{new.name} vs {baseline.name}"
        )
        print(f"chart: {new / 'compare.png'}")
    outcome = judgement.verdict(rows)
    failed = sum(row.verdict == judgement.FAIL for row in rows)
    print(f"compare: {outcome} ({len(rows)} figures, {failed} regressed)")
    return 0 if outcome == judgement.PASS else 1


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "run"
    if verb == "compare" and len(argv) == 3:
        return compare(Path(argv[1]), Path(argv[2]))
    if verb == "chart" and len(argv) == 2:
        _chart(Path(argv[1]), f"linkpulse load test: {Path(argv[1]).name}")
        return 0
    baseline = Path(argv[1]) if verb == "run" and len(argv) == 2 else None
    if verb not in ("run", "ui") or len(argv) > (1 if baseline is None else 2):
        print(__doc__, file=sys.stderr)
        return 2
    if baseline is not None and not (baseline / comparison.STATS_CSV).is_file():
        print(f"loadtest: BASELINE {baseline} is not a results folder (no {comparison.STATS_CSV})")
        return 2
    settings = options.parse([])  # exits 2 with Locust's one-line error on a bad setting
    return run(settings, baseline) if verb == "run" else ui()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
