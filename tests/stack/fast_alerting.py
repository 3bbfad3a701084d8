"""Short evaluation settings for the alerting stack test, applied without touching what ships.

The shipped rules wait minutes (`for: 2m`) and Alertmanager batches for minutes (group_interval
5m); a test of the whole path would take a quarter of an hour. This writes copies of the shipped
Prometheus and Alertmanager configuration with only those timings shortened, and a compose
override that bind-mounts the copies over the baked-in files. Leaving the override recreates the
two containers from their images again, with the shipped configuration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.stack.stack import REPO_ROOT, env_file, up

PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"
ALERTMANAGER_CONFIG = REPO_ROOT / "monitoring" / "alertmanager" / "alertmanager.yml"
WORK_DIR = REPO_ROOT / "build" / "stack-fast-alerting"
ALERTMANAGER_IN_IMAGE = "/etc/alertmanager/alertmanager.yml"
EVALUATION_INTERVAL = "5s"
ALERT_FOR = "5s"
# How far back an instant query looks for a series' last sample (default 5m). A Prometheus
# restarted onto its volume (the stack tier's own volume outlives each run) would otherwise see
# an earlier run's targets as up for five minutes, and absent() would wait for them.
LOOKBACK = "30s"


def _fast_rules(source: Path) -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(source.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = ALERT_FOR
    return rules


def _fast_prometheus() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"]["evaluation_interval"] = EVALUATION_INTERVAL
    return config


def _fast_alertmanager() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for route in [config["route"], *config["route"].get("routes", [])]:
        route["group_wait"] = "1s"
        route["group_interval"] = "2s"
    return config


def _prometheus_command() -> list[str]:
    """The image's CMD (monitoring/prometheus/Dockerfile), plus the short lookback."""
    dockerfile = (PROMETHEUS_DIR / "Dockerfile").read_text().replace("\\\n", "")
    match = re.search(r"^CMD (\[.*?\])$", dockerfile, re.MULTILINE)
    assert match, "no CMD in monitoring/prometheus/Dockerfile"
    command: list[str] = json.loads(match.group(1))
    return [*command, f"--query.lookback-delta={LOOKBACK}"]


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o644)  # read by the containers' unprivileged users


def _write_configuration() -> Path:
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    rules_dir = WORK_DIR / "rules"
    rules_dir.mkdir(parents=True)
    for directory in (WORK_DIR, rules_dir):
        directory.chmod(0o755)
    for source in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        _write(rules_dir / source.name, _fast_rules(source))
    _write(WORK_DIR / "prometheus.yml", _fast_prometheus())
    _write(WORK_DIR / "alertmanager.yml", _fast_alertmanager())
    override = {
        "services": {
            "prometheus": {
                "command": _prometheus_command(),
                "volumes": [
                    f"{WORK_DIR / 'prometheus.yml'}:/etc/prometheus/prometheus.yml:ro",
                    f"{rules_dir}:/etc/prometheus/rules:ro",
                ],
            },
            "alertmanager": {
                "volumes": [f"{WORK_DIR / 'alertmanager.yml'}:{ALERTMANAGER_IN_IMAGE}:ro"]
            },
        }
    }
    path = WORK_DIR / "compose.override.yml"
    _write(path, override)
    return path


def _compose_files() -> str:
    """COMPOSE_FILE as this stack's env file sets it (the image path of this machine)."""
    for line in env_file().read_text().splitlines():
        if line.startswith("COMPOSE_FILE="):
            return line.partition("=")[2].strip()
    return "docker-compose.yml"


@contextmanager
def fast_alerting() -> Iterator[None]:
    """Prometheus and Alertmanager with short timings for the duration of the block."""
    override = _write_configuration()
    saved = os.environ.get("COMPOSE_FILE")
    os.environ["COMPOSE_FILE"] = f"{_compose_files()}:{override}"
    try:
        up("prometheus", "alertmanager")
    finally:
        if saved is None:
            del os.environ["COMPOSE_FILE"]
        else:
            os.environ["COMPOSE_FILE"] = saved
    try:
        yield
    finally:
        up("prometheus", "alertmanager")
