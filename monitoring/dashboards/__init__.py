"""The Grafana dashboards, built with Grafana's own SDK (grafana-foundation-sdk, pinned to the
Grafana image's release line) and rendered to the JSON that Grafana provisions."""

from __future__ import annotations

import json
from collections.abc import Callable

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from monitoring.dashboards import infrastructure, overview, pipeline, release
from monitoring.thresholds import Thresholds
from slo import SloSpec


def dashboards(spec: SloSpec, thresholds: Thresholds) -> dict[str, object]:
    """File name (without .json) -> built dashboard, in a stable order. Descriptions that name
    an alert's threshold read it from the thresholds, as the alert does."""
    builders: dict[str, Callable[[], object]] = {
        "linkpulse-overview": lambda: overview.build(spec),
        "linkpulse-pipeline": lambda: pipeline.build(thresholds),
        "linkpulse-release": lambda: release.build(spec),
        "linkpulse-redis": lambda: infrastructure.redis(thresholds),
        "linkpulse-nginx": infrastructure.nginx,
        "linkpulse-host": lambda: infrastructure.host(thresholds),
    }
    return {name: build() for name, build in builders.items()}


def render(dashboard: object) -> str:
    return json.dumps(dashboard, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
