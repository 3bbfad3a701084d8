"""Prometheus config, rules and rule unit tests, checked by the real promtool."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from linkpulse.contract import CLICK_STREAM
from monitoring import DASHBOARDS_DIR
from monitoring.thresholds import spoken
from slo import duration_seconds, load_spec
from tests.config.rules import (
    LINKPULSE_METRIC,
    RULE_FILES,
    alert_names,
    alerting_rules,
    all_rules,
    exposed_linkpulse_metrics,
    load_yaml,
)
from tests.config.services import prometheus
from tests.config.tools import PROMETHEUS_DIR, REPO_ROOT, RUNBOOKS_DIR, binary, run

TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
SEVERITIES = {"warning", "critical"}


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    result = run([binary("promtool", "prometheus"), *args], cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_config_is_valid() -> None:
    # Service names resolve only inside compose; promtool checks syntax and rule files only.
    out = promtool("check", "config", "prometheus.yml")
    assert f"{len(RULE_FILES)} rule files found" in out


def test_rules_are_valid() -> None:
    promtool("check", "rules", *(str(path) for path in RULE_FILES))


def test_rule_unit_tests_pass() -> None:
    assert TEST_FILES
    promtool("test", "rules", *(str(path) for path in TEST_FILES))


def test_stream_fill_reads_the_click_stream_redis_exporter_checks() -> None:
    # The stream's name is the contract's; YAML cannot import it, so both copies are held to it.
    exporter = load_yaml(REPO_ROOT / "docker-compose.yml")["services"]["redis-exporter"]
    assert exporter["environment"]["REDIS_EXPORTER_CHECK_SINGLE_STREAMS"] == CLICK_STREAM
    (fill,) = (
        rule["expr"]
        for rule in all_rules()
        if rule.get("record") == "job:linkpulse_click_stream_fill:ratio"
    )
    assert re.findall(r'redis_stream_length\{stream="([^"]+)"\}', fill) == [CLICK_STREAM]


def test_retention_covers_the_longest_slo_window() -> None:
    # The 3d/6h ticket reads three days back, the error-budget panels the whole budget period;
    # data older than the retention is gone.
    dockerfile = (PROMETHEUS_DIR / "Dockerfile").read_text()
    (retention,) = re.findall(r"--storage\.tsdb\.retention\.time=(\w+)", dockerfile)
    spec = load_spec()
    longest = max(duration_seconds(alert.long_window) for alert in spec.burn_rate_alerts)
    assert duration_seconds(retention) >= max(longest, spec.budget_days * 86400)


def test_docs_state_the_retention_the_image_sets() -> None:
    dockerfile = (PROMETHEUS_DIR / "Dockerfile").read_text()
    (retention,) = re.findall(r"--storage\.tsdb\.retention\.time=(\w+)", dockerfile)
    stated = f"{spoken(retention)}"
    for doc in (RUNBOOKS_DIR / "NodeDiskFilling.md", REPO_ROOT / "docs" / "monitoring.md"):
        assert stated in _prose(doc.read_text()), f"{doc.name} must say {stated}"


class _ComposeLoader(yaml.SafeLoader):
    """Compose's own tags (`!reset`, `!override`) read as the value written after them."""


def _compose_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_multi_constructor("!", _compose_tag)


def test_the_swarm_stack_runs_redis_exporter_with_its_stream_check() -> None:
    # The docs and the ClickStreamNearCap runbook say the fill reads Redis on Swarm too; the
    # overlay may change how redis-exporter gets its password, never drop it or its check.
    overlay = yaml.load((REPO_ROOT / "docker-compose.swarm.yml").read_text(), _ComposeLoader)
    exporter = overlay["services"]["redis-exporter"]
    assert exporter["deploy"].get("replicas", 1) >= 1
    assert "REDIS_EXPORTER_CHECK_SINGLE_STREAMS" not in exporter.get("environment", {})


def _prose(text: str) -> str:
    return " ".join(text.split())


def _minutes(duration: str) -> int:
    seconds = duration_seconds(duration)
    assert seconds % 60 == 0, duration
    return seconds // 60


@pytest.mark.parametrize(
    "rule", [rule for rule in alerting_rules() if "for" in rule], ids=lambda rule: rule["alert"]
)
def test_runbook_and_alert_table_state_the_rules_for(rule: dict[str, Any]) -> None:
    name, wait = rule["alert"], rule["for"]
    runbook = _prose((RUNBOOKS_DIR / f"{name}.md").read_text())
    fires_when = runbook.split("**Fires when:**", 1)[1].split("Rules:", 1)[0]
    assert f"for {spoken(wait)}" in fires_when
    (row,) = [
        line
        for line in (REPO_ROOT / "docs" / "monitoring.md").read_text().splitlines()
        if line.startswith(f"| [{name}](")
    ]
    assert re.search(rf"\bfor {_minutes(wait)} min\b", row), row


def test_config_loads_every_rule_file() -> None:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    loaded = {path for pattern in config["rule_files"] for path in PROMETHEUS_DIR.glob(pattern)}
    assert loaded == set(RULE_FILES)


def test_scrape_jobs_match_the_compose_services() -> None:
    jobs = {
        job["job_name"]: job
        for job in load_yaml(PROMETHEUS_DIR / "prometheus.yml")["scrape_configs"]
    }
    assert set(jobs) == {"prometheus", "alertmanager", "web", "worker", "redis", "nginx", "node"}
    # web and worker scale: one target per DNS A record of the service name.
    for name, port in (("web", 8000), ("worker", 9101)):
        (sd,) = jobs[name]["dns_sd_configs"]
        assert sd == {**sd, "names": [name], "type": "A", "port": port}
    static = {
        name: job["static_configs"][0]["targets"]
        for name, job in jobs.items()
        if "static_configs" in job
    }
    assert static == {
        "prometheus": ["localhost:9090"],
        "alertmanager": ["alertmanager:9093"],
        "redis": ["redis-exporter:9121"],
        "nginx": ["nginx-exporter:9113"],
        "node": ["node-exporter:9100"],
    }


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_alert_is_documented(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"]
    assert annotations["description"]
    runbook = annotations["runbook_url"]
    assert runbook == f"docs/runbooks/{rule['alert']}.md"
    text = (REPO_ROOT / runbook).read_text()
    assert text.startswith(f"# {rule['alert']}")


def test_every_runbook_belongs_to_an_alert() -> None:
    assert {path.stem for path in RUNBOOKS_DIR.glob("*.md")} == alert_names()


def _tested_outcomes() -> dict[str, set[str]]:
    """alertname -> {'fires', 'quiet'}: which outcomes the promtool tests check."""
    outcomes: dict[str, set[str]] = {}
    for path in TEST_FILES:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                seen = outcomes.setdefault(check["alertname"], set())
                seen.add("fires" if check.get("exp_alerts") else "quiet")
    return outcomes


@pytest.mark.parametrize("name", sorted(alert_names()))
def test_alert_is_tested_firing_and_quiet(name: str) -> None:
    assert _tested_outcomes().get(name) == {"fires", "quiet"}


def test_rules_use_only_metrics_that_web_and_worker_expose() -> None:
    used = {name for rule in all_rules() for name in LINKPULSE_METRIC.findall(rule["expr"])}
    assert used
    exposed = exposed_linkpulse_metrics()
    assert used <= exposed, sorted(used - exposed)


@pytest.fixture(scope="module")
def live_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prometheus(tmp_path_factory.mktemp("prometheus")) as base:
        yield base


def _evaluated_rules(base: str) -> list[dict[str, Any]]:
    """Every rule, once each group has been evaluated at least once."""
    deadline = time.monotonic() + 60
    while True:
        groups = requests.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
        if all(not group["lastEvaluation"].startswith("0001-") for group in groups):
            return [rule for group in groups for rule in group["rules"]]
        assert time.monotonic() < deadline, "rules were not evaluated within 60 s"
        time.sleep(0.5)


def test_live_prometheus_evaluates_every_rule_without_error(live_prometheus: str) -> None:
    rules = _evaluated_rules(live_prometheus)
    defined = {rule.get("alert") or rule["record"] for rule in all_rules()}
    assert {rule["name"] for rule in rules} == defined
    unhealthy = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert unhealthy == {}


def test_live_prometheus_sends_alerts_to_the_stack_alertmanager(live_prometheus: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        data = requests.get(f"{live_prometheus}/api/v1/alertmanagers", timeout=5).json()["data"]
        urls = [entry["url"] for entry in data["activeAlertmanagers"]]
        if urls or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert urls == ["http://alertmanager:9093/api/v2/alerts"]


def _slo_panel_queries() -> dict[str, str]:
    """'<panel title> <legend>' -> expr of the overview's objective panels, as committed."""
    board = load_yaml(DASHBOARDS_DIR / "linkpulse-overview.json")
    return {
        f"{panel['title']} {target.get('legendFormat', '')}".strip(): target["expr"]
        for panel in board["panels"]
        if panel["title"].startswith(("Bad requests:", "Error budget left:"))
        for target in panel["targets"]
        if not target["expr"].startswith("vector(")
    }


def test_objective_panels_answer_0_not_no_data_without_redirects(tmp_path: Path) -> None:
    """Run by promtool's engine over slo.yml's recording rules: before the first redirect, and
    once the last one has left a window, each bad-request share is one series of 0 (and the
    whole budget is left); with redirects it is the recorded share itself, alone."""
    queries = _slo_panel_queries()
    assert len(queries) == 6
    web = 'job="web", instance="web:8000", route="/<code>", method="GET"'
    latency = "linkpulse_http_request_duration_seconds"
    # 10 minutes of 100 redirects a minute, one in 100 of them a 503 and all within 100 ms;
    # then none: the counters stand still.
    redirects = [
        {"series": series, "values": f"0+{per_minute}x10 {per_minute * 10}x20"}
        for series, per_minute in (
            (f'linkpulse_http_requests_total{{{web}, status="302"}}', 99),
            (f'linkpulse_http_requests_total{{{web}, status="503"}}', 1),
            (f'{latency}_bucket{{{web}, status="302", le="0.1"}}', 100),
            (f'{latency}_count{{{web}, status="302"}}', 100),
        )
    ]
    zero = [{"labels": "{}", "value": 0}]

    def checks(eval_time: str, expected: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [
            {"expr": queries[name], "eval_time": eval_time, "exp_samples": samples}
            for name, samples in expected.items()
        ]

    never = {name: zero for name in queries if name.startswith("Bad requests")}
    never |= {name: [{"labels": "{}", "value": 1}] for name in queries if "budget" in name}

    def availability_share(window: str) -> list[dict[str, Any]]:
        recorded = f'slo:sli_error:ratio_rate{window}{{job="web", slo="redirect_availability"}}'
        return [{"labels": recorded, "value": 0.01}]

    unit_test = {
        "rule_files": [str(PROMETHEUS_DIR / "rules" / "slo.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "no redirect yet",
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'linkpulse_http_requests_total{job="web", instance="web:8000", '
                        'route="/api/links", method="POST", status="201"}',
                        "values": "0+10x20",
                    }
                ],
                "promql_expr_test": checks("15m", never),
            },
            {
                "name": "redirects, then a quiet 5 minutes",
                "interval": "1m",
                "input_series": redirects,
                "promql_expr_test": checks(
                    "8m",
                    {
                        "Bad requests: redirect availability 5m": availability_share("5m"),
                        "Bad requests: redirect availability 1h": availability_share("1h"),
                    },
                )
                + checks(
                    "20m",
                    {
                        "Bad requests: redirect availability 5m": zero,
                        "Bad requests: redirect latency 5m": zero,
                        "Bad requests: redirect availability 1h": availability_share("1h"),
                    },
                ),
            },
        ],
    }
    test_file = tmp_path / "objective_panels_test.yml"
    test_file.write_text(json.dumps(unit_test))
    promtool("test", "rules", str(test_file), cwd=tmp_path)
