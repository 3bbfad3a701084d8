"""`linkpulse_build_info{version, revision}`: which build a web or worker process runs.

One name and one pair of labels for both services, because Prometheus joins every other series
of a process to it on `instance` to break that series down by version (recording rules, the
release dashboard, the deploy tool's SLO check).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

BUILD_INFO = "linkpulse_build_info"


def register_build_info(registry: CollectorRegistry | None, version: str, revision: str) -> Gauge:
    """The gauge, set to 1 for this build; registry None means gunicorn's multiprocess files."""
    gauge = Gauge(
        BUILD_INFO,
        "Always 1; the labels say which build is running.",
        ["version", "revision"],
        # Every gunicorn worker of one server runs the same build: merged, it stays one series.
        multiprocess_mode="max",
        registry=registry,
    )
    gauge.labels(version=version, revision=revision).set(1)
    return gauge
