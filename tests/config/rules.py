"""What the Prometheus rules define and what the services expose, for cross-checks."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.config.tools import PROMETHEUS_DIR
from web.metrics import MULTIPROC_ENV, WebMetrics
from worker.metrics import WorkerMetrics

RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
# A linkpulse_ name that is not part of a recording rule's level:metric:operations name.
LINKPULSE_METRIC = re.compile(r"(?<![\w:])linkpulse_[a-z0-9_]+(?![\w:])")
RECORDED_SERIES = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def all_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
    ]


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "alert" in rule]


def alert_names() -> set[str]:
    return {rule["alert"] for rule in alerting_rules()}


def recorded_series() -> set[str]:
    return {rule["record"] for rule in all_rules() if "record" in rule}


def _sample_names(exposition: bytes) -> set[str]:
    return {
        sample.name
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


def exposed_linkpulse_metrics() -> set[str]:
    """Every sample name web and worker put on /metrics, from their own metric classes."""
    saved = os.environ.pop(MULTIPROC_ENV, None)
    try:
        web = WebMetrics(version="test", revision="test", click_stream_maxlen=1_000_000)
    finally:
        if saved is not None:
            os.environ[MULTIPROC_ENV] = saved
    # Labelled families show samples only once a child exists.
    web.observe_request("/<code>", "GET", 302, 0.01)
    registry = CollectorRegistry()
    WorkerMetrics(registry=registry)
    return _sample_names(web.exposition()) | _sample_names(generate_latest(registry))
