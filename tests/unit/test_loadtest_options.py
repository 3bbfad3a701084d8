"""The load test's settings as Locust parses them: every documented LOADTEST_* variable reaches its
option, Locust's own flags and LOCUST_* variables win, and a bad value stops with one line.

Locust parses in one child Python for all cases: importing Locust patches a process with gevent,
which this test process must not be.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs" / "loadtesting.md"

# Parses each case (environment, arguments) read from stdin, in a clean environment.
PARSE_EACH = """
import contextlib, io, json, os, sys
from loadtest.options import parse
results = []
for environ, args in json.load(sys.stdin):
    for name in [n for n in os.environ if n.startswith(("LOADTEST_", "LOCUST_"))]:
        del os.environ[name]
    os.environ.update(environ)
    error = io.StringIO()
    try:
        with contextlib.redirect_stderr(error):
            results.append({"options": vars(parse(args))})
    except SystemExit as stop:
        results.append({"exit": stop.code, "error": error.getvalue()})
print(json.dumps(results, default=str))
"""

# Every documented variable, a value for it, and the option and value Locust makes of it.
EVERY_VARIABLE = {
    "LOADTEST_HOST": ("http://nginx:8080", "host", "http://nginx:8080"),
    "LOADTEST_USERS": ("12", "num_users", 12),
    "LOADTEST_SPAWN_RATE": ("2.5", "spawn_rate", 2.5),
    "LOADTEST_DURATION": ("1h30m", "run_time", 5400),
    "LOADTEST_SHAPE": ("spike", "shape", "spike"),
    "LOADTEST_VISITOR_WEIGHT": ("8", "visitor_weight", 8),
    "LOADTEST_CREATOR_WEIGHT": ("0", "creator_weight", 0),
    "LOADTEST_ANALYST_WEIGHT": ("2", "analyst_weight", 2),
    "LOADTEST_LINKS": ("50", "links", 50),
    "LOADTEST_ZIPF_EXPONENT": ("0.8", "zipf_exponent", 0.8),
    "LOADTEST_PROMETHEUS_URL": (
        "http://prometheus:9090/",
        "prometheus_url",
        "http://prometheus:9090",
    ),
    "LOADTEST_RESULTS_DIR": ("/results", "results_dir", "/results"),
}
DEFAULTS = {
    "host": "http://127.0.0.1:8080",
    "num_users": 40,
    "spawn_rate": 10.0,
    "run_time": 60,
    "shape": "ramp",
    "visitor_weight": 16,
    "creator_weight": 1,
    "analyst_weight": 3,
    "links": 200,
    "zipf_exponent": 1.1,
    "prometheus_url": "http://127.0.0.1:9090",
    "results_dir": "",
}
BAD = {
    "LOADTEST_USERS": ("many", "argument -u/--users: invalid int value: 'many'"),
    "LOADTEST_DURATION": ("soon", "argument -t/--run-time: Invalid time span format"),
    "LOADTEST_SHAPE": ("wave", "argument --shape: invalid choice: 'wave'"),
    "LOADTEST_LINKS": ("0", "argument --links: '0': must be at least 1"),
    "LOADTEST_VISITOR_WEIGHT": ("-1", "argument --visitor-weight: '-1': must be at least 0"),
    "LOADTEST_PROMETHEUS_URL": ("prometheus:9090", "argument --prometheus-url: 'prometheus:9090'"),
}
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "defaults": ({}, []),
    "every variable": ({name: value for name, (value, _, _) in EVERY_VARIABLE.items()}, []),
    "LOCUST_USERS over LOADTEST_USERS": ({"LOCUST_USERS": "7", "LOADTEST_USERS": "5"}, []),
    "a flag over both": ({"LOCUST_USERS": "7", "LOADTEST_USERS": "5"}, ["--users", "9"]),
    **{f"bad {name}": ({name: value}, []) for name, (value, _) in BAD.items()},
}


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    run = subprocess.run(
        [sys.executable, "-c", PARSE_EACH],
        input=json.dumps(list(CASES.values())),
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(zip(CASES, json.loads(run.stdout), strict=True))


def test_defaults(parsed: dict[str, dict[str, Any]]) -> None:
    options = parsed["defaults"]["options"]

    assert {name: options[name] for name in DEFAULTS} == DEFAULTS


def test_every_documented_variable_reaches_its_option(parsed: dict[str, dict[str, Any]]) -> None:
    settings = DOCS.read_text().split("## Settings", 1)[1].split("### Shapes", 1)[0]
    documented = set(re.findall(r"`(LOADTEST_[A-Z_]+)`", settings))
    options = parsed["every variable"]["options"]

    assert documented == set(EVERY_VARIABLE)
    assert {dest: options[dest] for _, dest, _ in EVERY_VARIABLE.values()} == {
        dest: value for _, dest, value in EVERY_VARIABLE.values()
    }


def test_locusts_own_names_win_over_ours(parsed: dict[str, dict[str, Any]]) -> None:
    assert parsed["LOCUST_USERS over LOADTEST_USERS"]["options"]["num_users"] == 7
    assert parsed["a flag over both"]["options"]["num_users"] == 9


@pytest.mark.parametrize("name", BAD)
def test_a_bad_value_stops_with_one_line_naming_the_option(
    parsed: dict[str, dict[str, Any]], name: str
) -> None:
    result = parsed[f"bad {name}"]

    assert result["exit"] == 2
    (line,) = result["error"].splitlines()
    assert line.startswith(f"loadtest: error: {BAD[name][1]}"), line
