"""Prometheus scrapes every part of the stack, and every query the dashboards and recording
rules hold answers with series on live data: something Grafana can draw, never "No data"."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
import yaml

from tests.stack.stack import REPO_ROOT, Stack, wait_until

pytestmark = pytest.mark.stack

DASHBOARDS_DIR = REPO_ROOT / "monitoring" / "grafana" / "dashboards"
PROMETHEUS_RULES_DIR = REPO_ROOT / "monitoring" / "prometheus" / "rules"
LOAD_REDIRECTS = 200
EXPECTED_JOBS = {"prometheus", "alertmanager", "web", "worker", "redis", "nginx", "node"}


def test_prometheus_reports_every_scrape_target_up(stack: Stack) -> None:
    def all_up() -> list[dict[str, Any]] | None:
        response = requests.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10)
        targets: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
        if all(target["health"] == "up" for target in targets):
            return targets
        return None

    targets = wait_until(all_up, "every Prometheus target to be up", deadline_s=90)

    assert {target["labels"]["job"] for target in targets} >= EXPECTED_JOBS


def _query(stack: Stack, expr: str, start: float, end: float) -> dict[str, Any]:
    response = requests.post(
        f"{stack.prometheus_url}/api/v1/query_range",
        data={"query": expr, "start": start, "end": end, "step": "15s"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    return body


def _live_expressions() -> list[tuple[str, str]]:
    """(where, expr) for every panel query and annotation of every committed dashboard and
    every recording rule: what Grafana and Prometheus will evaluate."""
    found: list[tuple[str, str]] = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{board['title']} / {panel['title']}", target["expr"]))
        for annotation in board["annotations"]["list"]:
            if "expr" in annotation:
                found.append(
                    (f"{board['title']} / annotation {annotation['name']}", annotation["expr"])
                )
    for path in sorted((PROMETHEUS_RULES_DIR).glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    found.append((f"{path.name} / {rule['record']}", rule["expr"]))
    return found


def _drawn(result: list[dict[str, Any]]) -> bool:
    """At least one series with one number in it: a series of NaN only (0/0, a ratio over no
    requests) draws nothing either."""
    return any(value != "NaN" for series in result for _, value in series["values"])


def test_every_dashboard_and_recording_rule_query_returns_series_on_live_data(
    stack: Stack,
) -> None:
    # A short load over every route the panels show: links created, redirects found and not
    # found, stats read; the worker counts the clicks.
    code = stack.create_link(f"https://example.com/live/{uuid.uuid4().hex}")["code"]
    for _ in range(LOAD_REDIRECTS):
        assert stack.click(code).status_code == 302
    assert stack.click(f"missing-{uuid.uuid4().hex[:8]}").status_code == 404
    stack.wait_for_clicks(code, LOAD_REDIRECTS)
    expressions = _live_expressions()
    # Over the stack's life so far: deploy annotations mark its start.
    start = time.time() - 30 * 60

    def failures() -> list[str]:
        now = time.time()
        failed = []
        for where, expr in expressions:
            body = _query(stack, expr, start, now)
            if body["status"] != "success":
                failed.append(f"{where}: {body.get('error')}: {expr}")
            elif not body["data"]["result"]:
                failed.append(f"{where}: no series: {expr}")
            elif not _drawn(body["data"]["result"]):
                failed.append(f"{where}: NaN only: {expr}")
        return failed

    # Rates need two scrapes after the load and the rules an evaluation: poll until then.
    try:
        wait_until(lambda: not failures(), "every query to return series", deadline_s=90)
    except AssertionError:
        pytest.fail("queries without series or with errors:\n" + "\n".join(failures()))
    assert len(expressions) > 50


def test_every_web_and_worker_target_reports_its_build(stack: Stack) -> None:
    """Each running process's series join its build on (job, instance): none may be without."""

    def builds_of_live_targets() -> dict[tuple[str, str], list[str]] | None:
        # The targets Prometheus scrapes now: its volume may still hold an earlier run's series.
        response = requests.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10)
        live = [
            (target["labels"]["job"], target["labels"]["instance"])
            for target in response.json()["data"]["activeTargets"]
            if target["labels"]["job"] in {"web", "worker"} and target["health"] == "up"
        ]
        if {job for job, _ in live} != {"web", "worker"}:
            return None
        now = time.time()
        found = {}
        for job, instance in live:
            expr = f'linkpulse_build_info{{job="{job}", instance="{instance}"}}'
            result = _query(stack, expr, now, now)["data"]["result"]
            found[(job, instance)] = [series["metric"].get("version", "") for series in result]
        return found

    builds = wait_until(builds_of_live_targets, "web and worker targets up", deadline_s=60)
    assert builds
    for target, versions in builds.items():
        assert len(versions) == 1, target
        assert versions[0], target
