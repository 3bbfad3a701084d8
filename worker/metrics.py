"""The worker's Prometheus metrics, on a registry of its own, served by a plain HTTP server."""

from __future__ import annotations

from enum import StrEnum
from http.server import HTTPServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    start_http_server,
)

from linkpulse.build_info import register_build_info

PREFIX = "linkpulse_worker"


class WorkerState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    RECOVERING = "recovering"  # Redis failed; backing off before the next try
    STOPPING = "stopping"


class Outcome(StrEnum):
    APPLIED = "applied"  # counted into the aggregates
    DROPPED = "dropped"  # the link was deleted; acknowledged, not counted
    MALFORMED = "malformed"  # unreadable; moved to the dead-letter stream, not counted
    SKIPPED = "skipped"  # reclaimed by another consumer meanwhile; left to it
    MISSING = "missing"  # deleted from the stream (length cap) before it was processed


class WorkerMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        version: str = "dev",
        revision: str = "unknown",
    ) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        r = self.registry
        self.build_info = register_build_info(r, version, revision)
        self.events = Counter(
            f"{PREFIX}_events_processed",
            "Click events handled, by outcome.",
            ["outcome"],
            registry=r,
        )
        for outcome in Outcome:
            self.events.labels(outcome=outcome.value)
        self.reclaimed = Counter(
            f"{PREFIX}_events_reclaimed",
            "Pending events claimed from idle consumers.",
            registry=r,
        )
        self.batch_size = Histogram(
            f"{PREFIX}_batch_size",
            "Entries per applied batch.",
            buckets=(1, 5, 10, 50, 100, 250, 500, 750, 1000, 2500, 5000, 10000),
            registry=r,
        )
        self.batch_duration = Histogram(
            f"{PREFIX}_batch_duration_seconds",
            "Time to parse and apply one batch.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.failures = Counter(
            f"{PREFIX}_failures",
            "Redis operations that failed (the worker backs off and retries).",
            registry=r,
        )
        self.trimmed = Counter(
            f"{PREFIX}_stream_trimmed_entries",
            "Acknowledged entries removed from the stream by XTRIM MINID.",
            registry=r,
        )
        self.consumers_removed = Counter(
            f"{PREFIX}_consumers_removed",
            "Idle consumers without pending entries deleted from the group.",
            registry=r,
        )
        self.group_lag = Gauge(
            f"{PREFIX}_group_lag",
            "Entries in the stream not yet delivered to the group (XINFO GROUPS lag).",
            registry=r,
        )
        self.group_pending = Gauge(
            f"{PREFIX}_group_pending",
            "Entries delivered to the group but not acknowledged.",
            registry=r,
        )
        self.oldest_unprocessed_age = Gauge(
            f"{PREFIX}_oldest_unprocessed_event_age_seconds",
            "Age of the oldest event not yet acknowledged; 0 when there is none.",
            registry=r,
        )
        self.stream_length = Gauge(
            f"{PREFIX}_stream_length", "Entries in the click stream (XLEN).", registry=r
        )
        self.stream_maxlen = Gauge(
            f"{PREFIX}_stream_maxlen",
            "The length cap web applies to the click stream (CLICK_STREAM_MAXLEN).",
            registry=r,
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Unix time of the last loop iteration that reached Redis.",
            registry=r,
        )
        self.state = Enum(
            f"{PREFIX}_state",
            "What the worker loop is doing.",
            states=[state.value for state in WorkerState],
            registry=r,
        )
        self.state.state(WorkerState.STARTING.value)

    def serve(self, port: int, address: str = "0.0.0.0") -> HTTPServer:  # noqa: S104
        """Serve /metrics from a daemon thread; call shutdown() on the result to stop it."""
        server: HTTPServer
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server
