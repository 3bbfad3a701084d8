"""Alertmanager config, checked and routed by the real amtool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from tests.config.rules import alert_names
from tests.config.services import alertmanager
from tests.config.tools import ALERTMANAGER_CONFIG, REPO_ROOT, binary, run


def amtool(*args: str) -> str:
    result = run([binary("amtool", "prometheus-alertmanager"), *args])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def routed_receiver(*labels: str) -> str:
    return amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels
    ).strip()


def test_config_is_valid() -> None:
    out = amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert "SUCCESS" in out


@pytest.mark.parametrize(
    ("severity", "receiver"), [("critical", "team-pager"), ("warning", "team-warnings")]
)
def test_alerts_route_by_severity(severity: str, receiver: str) -> None:
    assert routed_receiver("alertname=RedisDown", f"severity={severity}") == receiver


def test_unlabelled_alert_still_reaches_someone() -> None:
    assert routed_receiver("alertname=Unexpected") == "team-warnings"


def test_alerts_are_grouped_by_name() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    assert config["route"]["group_by"] == ["alertname"]


def test_webhooks_stay_inside_the_stack() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    urls = [hook["url"] for receiver in config["receivers"] for hook in receiver["webhook_configs"]]
    assert urls
    for url in urls:
        host = urlsplit(url).hostname or ""
        assert "." not in host, f"{url} leaves the compose network"


def test_every_receiver_delivers_to_the_stacks_alert_sink() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    (port,) = {binding.rsplit(":", 1)[1] for binding in compose["services"]["alert-sink"]["ports"]}
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            assert urlsplit(hook["url"]).netloc == f"alert-sink:{port}", receiver["name"]
            assert hook["send_resolved"] is True, receiver["name"]


def test_inhibit_rules_name_real_alerts() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    known = alert_names()
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            name, _, value = matcher.partition("=")
            if name.strip() == "alertname":
                names = value.strip('~"').split("|")
                assert set(names) <= known, matcher


@pytest.fixture(scope="module")
def live_alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with alertmanager(tmp_path_factory.mktemp("alertmanager")) as base:
        yield base


def _post_and_read(base: str, alerts: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Send alerts as Prometheus would (with its external label); read them back by name/job."""
    payload = [{"labels": {"stack": "linkpulse", **labels}} for labels in alerts]
    requests.post(f"{base}/api/v2/alerts", json=payload, timeout=5).raise_for_status()
    wanted = {(labels["alertname"], labels["job"]) for labels in alerts}
    seen = requests.get(f"{base}/api/v2/alerts", timeout=5).json()
    return {
        f"{alert['labels']['alertname']}/{alert['labels']['job']}": alert
        for alert in seen
        if (alert["labels"]["alertname"], alert["labels"]["job"]) in wanted
    }


def test_live_routing_sends_critical_to_the_pager(live_alertmanager: str) -> None:
    alerts = _post_and_read(
        live_alertmanager,
        [
            {"alertname": "ClickStreamNearCap", "severity": "critical", "job": "routing"},
            {"alertname": "RedirectLatencyBudgetBurn", "severity": "warning", "job": "routing"},
        ],
    )
    assert [r["name"] for r in alerts["ClickStreamNearCap/routing"]["receivers"]] == ["team-pager"]
    ticket = alerts["RedirectLatencyBudgetBurn/routing"]
    assert [r["name"] for r in ticket["receivers"]] == ["team-warnings"]


def test_live_redis_down_silences_its_consequences_only(live_alertmanager: str) -> None:
    alerts = _post_and_read(
        live_alertmanager,
        [
            {"alertname": "RedisDown", "severity": "critical", "job": "redis"},
            {"alertname": "ClickEventsFailing", "severity": "critical", "job": "web"},
            {"alertname": "WorkerNoProgress", "severity": "critical", "job": "worker"},
            {"alertname": "NginxDown", "severity": "critical", "job": "nginx"},
        ],
    )
    assert alerts["RedisDown/redis"]["status"]["state"] == "active"
    assert alerts["ClickEventsFailing/web"]["status"]["state"] == "suppressed"
    assert alerts["WorkerNoProgress/worker"]["status"]["state"] == "suppressed"
    assert alerts["NginxDown/nginx"]["status"]["state"] == "active"


def test_live_absent_service_silences_its_own_target_alerts(live_alertmanager: str) -> None:
    alerts = _post_and_read(
        live_alertmanager,
        [
            {"alertname": "ServiceAbsent", "severity": "critical", "job": "web"},
            {"alertname": "TargetDown", "severity": "warning", "job": "web"},
            {"alertname": "TargetDown", "severity": "warning", "job": "node"},
        ],
    )
    assert alerts["TargetDown/web"]["status"]["state"] == "suppressed"
    assert alerts["TargetDown/node"]["status"]["state"] == "active"


def test_live_stream_near_cap_silences_the_worker_backlog(tmp_path: Path) -> None:
    # An Alertmanager of its own: the shared one still holds RedisDown, which silences
    # WorkerLagHigh by itself. The fill is measured on Redis (job redis), the backlog by the
    # workers (job worker).
    with alertmanager(tmp_path) as base:
        alerts = _post_and_read(
            base,
            [
                {"alertname": "ClickStreamNearCap", "severity": "critical", "job": "redis"},
                {"alertname": "WorkerLagHigh", "severity": "warning", "job": "worker"},
            ],
        )
    assert alerts["ClickStreamNearCap/redis"]["status"]["state"] == "active"
    assert alerts["WorkerLagHigh/worker"]["status"]["state"] == "suppressed"
