"""A run judged against a baseline: what counts as a regression, what cannot be judged, and bad
folders, on Locust's own CSV layout."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from loadtest import compare
from loadtest.names import CREATE, RATE_LIMITED, REDIRECT
from slo import SpecError, judgement, load_tolerances, parse_tolerances
from tests.support.commands import run

TOLERANCES = load_tolerances()
QUANTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")


def _write_run(
    folder: Path,
    *,
    p50: float = 5,
    p99: float = 20,
    requests: int = 1000,
    failures: int = 0,
    rps: float = 50.0,
    limited: int = 0,
) -> Path:
    folder.mkdir(parents=True)
    header = ["Type", "Name", "Request Count", "Failure Count", "Requests/s", *QUANTILES]
    with (folder / compare.STATS_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name in (REDIRECT, CREATE):
            # Quantiles between p50 and p99 interpolated; p95 half way.
            figures = {"50%": p50, "95%": (p50 + p99) / 2, "99%": p99}
            row = [figures.get(q, p99) for q in QUANTILES]
            writer.writerow(["GET", name, requests, failures, rps, *row])
        writer.writerow(["", "Aggregated", 2 * requests, 2 * failures, 2 * rps, *[p99] * 11])
    with (folder / compare.FAILURES_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Name", "Error", "Occurrences"])
        if limited:
            writer.writerow(["GET", REDIRECT, f"CatchResponseError('{RATE_LIMITED}')", limited])
    return folder


def _judge(baseline: Path, new: Path) -> list[judgement.Row]:
    read = compare.read_run
    quantiles = TOLERANCES.latency_quantiles
    return compare.compare(read(baseline, quantiles), read(new, quantiles), TOLERANCES)


def _verdicts(rows: list[judgement.Row], request_type: str = "redirect") -> dict[str, str]:
    return {row.metric: row.verdict for row in rows if row.subject == request_type}


def test_the_same_run_passes_every_figure(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "a")
    rows = _judge(run, run)
    assert judgement.verdict(rows) == judgement.PASS
    assert {"rps", "p50_ms", "p95_ms", "p99_ms", "error_ratio"} <= set(_verdicts(rows))


def test_three_times_slower_but_inside_the_slo_is_a_regression(tmp_path: Path) -> None:
    # p99 20 -> 60 ms stays under a 100 ms objective, yet is 3x the baseline and 40 ms above it.
    rows = _judge(_write_run(tmp_path / "a"), _write_run(tmp_path / "b", p99=60))
    assert _verdicts(rows)["p99_ms"] == judgement.FAIL
    assert _verdicts(rows)["p50_ms"] == judgement.PASS
    assert judgement.verdict(rows) == judgement.FAIL


def test_a_doubling_of_a_few_milliseconds_is_noise_not_a_regression(tmp_path: Path) -> None:
    rows = _judge(_write_run(tmp_path / "a", p50=2), _write_run(tmp_path / "b", p50=4))
    assert _verdicts(rows)["p50_ms"] == judgement.PASS


def test_more_errors_than_the_tolerance_fail_and_429s_do_not_count(tmp_path: Path) -> None:
    baseline = _write_run(tmp_path / "a")
    assert _verdicts(_judge(baseline, _write_run(tmp_path / "b", failures=20)))["error_ratio"] == (
        judgement.FAIL
    )
    rate_limited = _write_run(tmp_path / "c", failures=20, limited=20)
    assert _verdicts(_judge(baseline, rate_limited))["error_ratio"] == judgement.PASS


def test_a_throughput_drop_fails(tmp_path: Path) -> None:
    rows = _judge(_write_run(tmp_path / "a"), _write_run(tmp_path / "b", rps=30.0))
    assert _verdicts(rows)["rps"] == judgement.FAIL


def test_too_few_new_requests_are_inconclusive_and_not_a_pass(tmp_path: Path) -> None:
    rows = _judge(_write_run(tmp_path / "a"), _write_run(tmp_path / "b", requests=10))
    assert _verdicts(rows) == {"requests": judgement.INCONCLUSIVE}
    assert judgement.verdict(rows) == judgement.INCONCLUSIVE


def test_a_type_the_baseline_barely_has_is_not_judged(tmp_path: Path) -> None:
    rows = _judge(_write_run(tmp_path / "a", requests=10), _write_run(tmp_path / "b", p99=900))
    assert rows == []
    assert judgement.verdict(rows) == judgement.INCONCLUSIVE


def test_the_table_shows_baseline_new_change_limit_and_verdict(tmp_path: Path) -> None:
    rows = _judge(_write_run(tmp_path / "a"), _write_run(tmp_path / "b", p99=60))
    line = next(line for line in judgement.table(rows).splitlines() if " p99_ms " in line)
    assert line.split() == ["redirect", "p99_ms", "20.0", "60.0", "+200", "%", "<=", "40", "FAIL"]


def test_the_cli_exits_1_on_a_regression_and_2_on_a_folder_that_is_not_a_run(
    tmp_path: Path,
) -> None:
    baseline, slow = _write_run(tmp_path / "a"), _write_run(tmp_path / "b", p99=60)
    command = (sys.executable, "-m", "loadtest", "compare")
    regressed = run(*command, str(baseline), str(slow))
    assert regressed.returncode == 1, regressed.stdout + regressed.stderr
    assert regressed.stdout.splitlines()[-1] == "compare: FAIL (10 figures, 2 regressed)"
    missing = run(*command, str(baseline), str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"compare: {tmp_path}: no locust_stats.csv " + (
        "(not a load-test results folder)"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("min_requests = 1", "latency"),
        ("min_requests = -1\n[latency]\nquantiles=[0.5]\nmax_ratio=1\nmax_added_ms=1", "min_req"),
        (
            "min_requests = 1\n[latency]\nquantiles=[0.5]\nmax_ratio='x'\nmax_added_ms=1",
            "max_ratio",
        ),
        (
            "min_requests = 1\n[latency]\nquantiles=[2]\nmax_ratio=1\nmax_added_ms=1\n"
            "[errors]\nmax_added_ratio=0\n[throughput]\nmin_ratio=0",
            "quantiles",
        ),
    ],
)
def test_a_bad_tolerance_file_names_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(SpecError, match=named):
        parse_tolerances(text)
