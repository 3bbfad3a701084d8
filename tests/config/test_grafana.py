"""Grafana provisioning and the dashboard JSON: loadable, wired to the provisioned datasources,
and every query valid PromQL (parsed by promtool) over series that really exist."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from monitoring.dashboards.common import DEPLOY_TAG
from tests.config.rules import (
    LINKPULSE_METRIC,
    RECORDED_SERIES,
    exposed_linkpulse_metrics,
    load_yaml,
    recorded_series,
)
from tests.config.tools import GRAFANA_DIR, REPO_ROOT, binary, run

DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
GRID_WIDTH = 24
CURRENT_PANEL_TYPES = {"timeseries", "stat", "table"}


# Every setting by which Grafana would reach outside the stack, and the value that stops it
# (docs/containers.md, "Outbound calls"): a host without internet must run it as well.
NO_CALLS_HOME = {
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true",
    "GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED": "true",
    "GF_SECURITY_DISABLE_GRAVATAR": "true",
    "GF_SNAPSHOTS_EXTERNAL_ENABLED": "false",
    "GF_NEWS_NEWS_FEED_ENABLED": "false",
}


def image_environment() -> dict[str, str]:
    """The ENV instructions of Grafana's Dockerfile, continuation lines joined."""
    text = (GRAFANA_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    settings: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for word in shlex.split(line[4:]):
                key, _, value = word.partition("=")
                settings[key] = value
    return settings


def provisioned_datasources() -> dict[str, str]:
    """uid -> type."""
    config = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "linkpulse.yml")
    return {source["uid"]: source["type"] for source in config["datasources"]}


def load_dashboard(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [item["expr"] for item in dashboard["annotations"]["list"] if "expr" in item]
    return exprs


def test_datasources_point_inside_the_stack() -> None:
    config = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "linkpulse.yml")
    urls = {source["type"]: source["url"] for source in config["datasources"]}
    assert urls == {
        "prometheus": "http://prometheus:9090",
        "alertmanager": "http://alertmanager:9093",
    }
    (default,) = [source for source in config["datasources"] if source.get("isDefault")]
    assert default["type"] == "prometheus"


def test_grafana_makes_no_calls_home() -> None:
    settings = image_environment()
    assert {key: settings.get(key) for key in NO_CALLS_HOME} == NO_CALLS_HOME
    # Nor may the compose file turn one back on at run time.
    compose = load_yaml(REPO_ROOT / "docker-compose.yml")
    overrides = compose["services"]["grafana"].get("environment", {})
    assert not {key: overrides[key] for key in NO_CALLS_HOME if key in overrides}


def test_dashboard_provider_reads_where_the_image_puts_dashboards() -> None:
    config = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "linkpulse.yml")
    (provider,) = config["providers"]
    path = provider["options"]["path"]
    dockerfile = GRAFANA_DIR / "Dockerfile"
    if dockerfile.exists():
        assert re.search(rf"^COPY dashboards/ {re.escape(path)}/?$", dockerfile.read_text(), re.M)


def test_the_dashboards_and_their_stable_uids() -> None:
    uids = {load_dashboard(path)["uid"]: path.stem for path in DASHBOARDS}
    assert uids == {
        "linkpulse-overview": "linkpulse-overview",
        "linkpulse-pipeline": "linkpulse-pipeline",
        "linkpulse-release": "linkpulse-release",
        "linkpulse-redis": "linkpulse-redis",
        "linkpulse-nginx": "linkpulse-nginx",
        "linkpulse-host": "linkpulse-host",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_no_datasource_placeholders(path: Path) -> None:
    # An exported dashboard's ${DS_PROMETHEUS} input would need a manual choice on import.
    assert "${DS_" not in path.read_text()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_shape(path: Path) -> None:
    dashboard = load_dashboard(path)
    assert dashboard["uid"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    sources = provisioned_datasources()
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["type"] in CURRENT_PANEL_TYPES, panel["title"]
        assert panel["title"]
        assert panel["description"], panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for item in [panel, *panel["targets"]]:
            assert sources.get(item["datasource"]["uid"]) == "prometheus", panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_has_deploy_annotations(path: Path) -> None:
    annotations = load_dashboard(path)["annotations"]["list"]
    deploys = [item for item in annotations if item.get("name") == "Deploys"]
    assert len(deploys) == 1
    assert "linkpulse_build_info" in deploys[0]["expr"]
    # And the ones the deploy tool posts through Grafana's API, found by their tag.
    (posted,) = [item for item in annotations if item.get("name") == "Deploy tool"]
    assert posted["target"]["tags"] == [DEPLOY_TAG]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_are_valid_promql(path: Path, tmp_path: Path) -> None:
    # promtool has no offline "check this expression"; a rule file of one recording rule per
    # query makes it parse every one of them.
    exprs = queries(load_dashboard(path))
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}:check", "expr": expr}
                    for index, expr in enumerate(exprs)
                ],
            }
        ]
    }
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(json.dumps(rules))  # JSON is YAML
    result = run([binary("promtool", "prometheus"), "check", "rules", str(rule_file)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_name_existing_series(path: Path) -> None:
    text = " ".join(queries(load_dashboard(path)))
    recorded = set(RECORDED_SERIES.findall(text))
    assert recorded <= recorded_series(), sorted(recorded - recorded_series())
    raw = set(LINKPULSE_METRIC.findall(text))
    exposed = exposed_linkpulse_metrics()
    assert raw <= exposed, sorted(raw - exposed)


def test_deploy_annotation_marks_a_new_build_once(tmp_path: Path) -> None:
    """The annotation query, run by promtool's engine over a rollout from revision a to b."""
    (deploys,) = [
        item
        for item in load_dashboard(GRAFANA_DIR / "dashboards" / "linkpulse-release.json")[
            "annotations"
        ]["list"]
        if item.get("name") == "Deploys"
    ]
    old = 'linkpulse_build_info{job="web", instance="w1:8000", version="1.0", revision="a"}'
    new = 'linkpulse_build_info{job="web", instance="w2:8000", version="1.1", revision="b"}'
    worker = 'linkpulse_build_info{job="worker", instance="w3:9101", version="1.0", revision="a"}'
    unit_test = {
        "rule_files": [],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "30s",
                # a runs from 0 to 6m; b starts at 5m (rolling update: both run for a minute);
                # the worker keeps running a throughout.
                "input_series": [
                    {"series": old, "values": "1x12 _x10"},
                    {"series": new, "values": "_x10 1x12"},
                    {"series": worker, "values": "1x22"},
                ],
                "promql_expr_test": [
                    {
                        "expr": deploys["expr"],
                        "eval_time": "5m30s",
                        "exp_samples": [
                            {"labels": '{job="web", version="1.1", revision="b"}', "value": 1},
                        ],
                    },
                    {"expr": deploys["expr"], "eval_time": "4m", "exp_samples": []},
                    {"expr": deploys["expr"], "eval_time": "8m", "exp_samples": []},
                ],
            }
        ],
    }
    test_file = tmp_path / "deploy_annotation_test.yml"
    test_file.write_text(json.dumps(unit_test))
    result = run([binary("promtool", "prometheus"), "test", "rules", str(test_file)])
    assert result.returncode == 0, result.stdout + result.stderr
