"""Alertmanager config, checked and routed by the real amtool."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from tests.config.rules import alert_names
from tests.config.tools import ALERTMANAGER_CONFIG, binary, run


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


def test_inhibit_rules_name_real_alerts() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    known = alert_names()
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            name, _, value = matcher.partition("=")
            if name.strip() == "alertname":
                names = value.strip('~"').split("|")
                assert set(names) <= known, matcher
