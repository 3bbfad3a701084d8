"""Load tests against the stack: a gated Locust smoke run, a gate that fails, and rate limits
that stop a flood but let an exempt load generator through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.names import CREATE, LINK, REDIRECT, STATS, STATS_PAGE
from tests.stack.stack import REPO_ROOT, Stack, compose
from tests.support.slow_proxy import slow_proxy

pytestmark = pytest.mark.stack

# The smoke run proves the machinery and the stack under load: traffic of every kind, every
# response checked, and the gates' verdict. Latency and throughput limits are lifted: a timed
# assertion on this shared machine would be flaky, and `make loadtest` holds the SLO figures.
SMOKE = {
    "LOADTEST_USERS": "12",
    "LOADTEST_SPAWN_RATE": "12",
    # Weights that divide 12 users exactly: every kind of user runs.
    "LOADTEST_VISITOR_WEIGHT": "8",
    "LOADTEST_CREATOR_WEIGHT": "2",
    "LOADTEST_ANALYST_WEIGHT": "2",
    "LOADTEST_DURATION": "20s",
    "LOADTEST_LINKS": "50",
    "LOADTEST_MAX_P95_MS": "5000",
    "LOADTEST_MAX_P99_MS": "5000",
    # Per type, for the types gates.toml gives a rate: a global LOADTEST_MIN_RPS would add a
    # rate gate to rare types too (create_invalid), which a 20-second run may never hit.
    "LOADTEST_MIN_RPS_REDIRECT": "0.01",
    "LOADTEST_MIN_RPS_CREATE": "0.01",
    "LOADTEST_MIN_RPS_STATS": "0.01",
}


def _loadtest(stack: Stack, results: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LOADTEST_HOST": stack.app_url,
        "LOADTEST_PROMETHEUS_URL": stack.prometheus_url,
        "LOADTEST_RESULTS_DIR": str(results),
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-m", "loadtest", "run"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_smoke_run_passes_its_gates_and_leaves_a_report(stack: Stack, tmp_path: Path) -> None:
    run = _loadtest(stack, tmp_path, **SMOKE)

    output = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    gate_lines = [line for line in output if line.startswith("gate ")]
    assert any(line.startswith("gate PASS redirect error_ratio") for line in gate_lines)
    assert not [line for line in gate_lines if line.startswith("gate FAIL")]
    summary = next(line for line in output if line.startswith("gates: "))
    assert summary.endswith(" 0 failed")
    assert " 0 failed, of which 0 rate limited" in run.stdout  # every response as expected
    assert "server (Prometheus" in run.stdout
    for name in ("report.html", "locust_stats.csv", "locust_stats_history.csv", "chart.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    # Every kind of user ran (the rare invalid creation aside): the weights reached Locust.
    measured = json.loads((tmp_path / "gates.json").read_text())["figures"]
    assert {REDIRECT, CREATE, LINK, STATS, STATS_PAGE} <= set(measured), sorted(measured)
    assert "generator: Locust used" in run.stdout


def test_an_impossible_p99_fails_the_run_and_names_the_gate(stack: Stack, tmp_path: Path) -> None:
    # Visitors only, so the redirect's gates are the only ones judged.
    only_visitors = {"LOADTEST_CREATOR_WEIGHT": "0", "LOADTEST_ANALYST_WEIGHT": "0"}
    run = _loadtest(
        stack,
        tmp_path,
        **{**SMOKE, **only_visitors, "LOADTEST_DURATION": "8s"},
        LOADTEST_MAX_P99_MS_REDIRECT="0.001",
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert "gate FAIL redirect p99_ms" in run.stdout
    assert "LOADTEST_MAX_P99_MS_REDIRECT" in run.stdout
    last_gates_line = [line for line in run.stdout.splitlines() if line.startswith("gates: ")][-1]
    assert last_gates_line.endswith(" 1 failed")


def test_a_run_against_a_slowed_service_fails_the_comparison_with_a_baseline(
    stack: Stack, tmp_path: Path
) -> None:
    only_visitors = {
        **SMOKE,
        "LOADTEST_CREATOR_WEIGHT": "0",
        "LOADTEST_ANALYST_WEIGHT": "0",
        "LOADTEST_DURATION": "20s",
        # Few links: each costs the slowed run 200 ms before its users start.
        "LOADTEST_LINKS": "10",
    }
    baseline = tmp_path / "baseline"
    assert _loadtest(stack, baseline, **only_visitors).returncode == 0
    host, port = stack.app_url.removeprefix("http://").rsplit(":", 1)
    # 200 ms more per request: far past the tolerance however loaded the machine's baseline is.
    with slow_proxy(host, int(port), delay_s=0.2) as slowed_url:
        slowed = _loadtest(stack, tmp_path / "slowed", **only_visitors, LOADTEST_HOST=slowed_url)
    # Inside the lifted gates: only the comparison fails.
    assert "gate FAIL" not in slowed.stdout, slowed.stdout + slowed.stderr

    compared = subprocess.run(
        [sys.executable, "-m", "loadtest", "compare", str(baseline), str(tmp_path / "slowed")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert compared.returncode == 1, compared.stdout + compared.stderr
    redirect_p50 = next(
        line.split() for line in compared.stdout.splitlines() if line.startswith("redirect  p50_ms")
    )
    assert redirect_p50[-1] == "FAIL", compared.stdout
    assert compared.stdout.splitlines()[-1].startswith("compare: FAIL")
    assert (tmp_path / "slowed" / "compare.png").stat().st_size > 0


def _flood(base_url: str, *, inside: list[str] | None = None) -> list[str]:
    """Status and content type of each of 1,500 parallel GETs (curl's own parallelism), sent
    from this host or, with INSIDE (`docker exec CONTAINER`), from within a container."""
    command = [
        *(inside or []),
        "curl",
        "-s",
        "--parallel",
        "--parallel-max",
        "50",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{content_type}\\n",
        f"{base_url}/api/links/flood[1-1500]",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return [line for line in result.stdout.split("\n") if line]


def test_a_flood_from_an_address_that_is_not_exempt_gets_429_json() -> None:
    # Inside nginx's container the flood comes from 127.0.0.1, which the stack tier's
    # RATE_LIMIT_EXEMPT (the edge network's gateway only) does not name.
    container = compose("ps", "--quiet", "nginx").split()[0]

    lines = _flood("http://127.0.0.1:8080", inside=["docker", "exec", container])

    assert "429 application/json" in lines, sorted(set(lines))


def test_the_exempt_load_generator_is_never_rate_limited(stack: Stack) -> None:
    # From this host, load arrives from the edge network's gateway, which the tier exempts.
    lines = _flood(stack.app_url)

    assert len(lines) == 1_500
    assert {line.split()[0] for line in lines} == {"404"}  # web's answer, never nginx's 429
