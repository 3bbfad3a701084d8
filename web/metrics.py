"""Prometheus metrics for the web service, per app instance rather than module globals.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set before prometheus_client is imported:
every worker writes its samples to files there and /metrics merges them, so a scrape
sees the whole server whichever worker answers it. Without that variable (tests, a
single `flask run`), each app gets its own registry.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from linkpulse.build_info import register_build_info

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def _request_families(
    name: str, what: str, registry: CollectorRegistry | None
) -> tuple[Counter, Histogram]:
    """linkpulse_<name>_requests_total and its latency histogram, by route, method, status."""
    labels = ["route", "method", "status"]
    requests = Counter(
        f"linkpulse_{name}_requests_total",
        f"{what} answered, by route template, method and status.",
        labels,
        registry=registry,
    )
    latency = Histogram(
        f"linkpulse_{name}_request_duration_seconds",
        "Time from request start to response, by route template, method and status.",
        labels,
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return requests, latency


class WebMetrics:
    def __init__(self, version: str, revision: str, *, click_stream_maxlen: int) -> None:
        self.multiprocess = multiprocess_enabled()
        # In multiprocess mode samples go to files, so the metrics need no registry at all.
        self._registry = None if self.multiprocess else CollectorRegistry()
        registry = self._registry
        self.requests, self.latency = _request_families("http", "HTTP requests", registry)
        # The deploy tool's probe requests (linkpulse.probe): the same measures, kept apart.
        self.probe_requests, self.probe_latency = _request_families(
            "probe", "The deploy tool's probe requests", registry
        )
        self.links_created = Counter(
            "linkpulse_links_created_total", "Short links created.", registry=registry
        )
        self.creates_refused = Counter(
            "linkpulse_link_creates_refused_total",
            "Creates refused by the storage policy: quota_exceeded or storage_full.",
            ["reason"],
            registry=registry,
        )
        self.redirects = Counter(
            "linkpulse_redirects_total",
            "Redirect lookups by result: found or not_found.",
            ["result"],
            registry=registry,
        )
        self.click_events = Counter(
            "linkpulse_click_events_total",
            "Click events appended to the stream (written) or lost with a Redis error (failed).",
            ["result"],
            registry=registry,
        )
        # Web applies the cap, and web is up when every worker is stopped: the moment the
        # stream grows. ClickStreamNearCap divides the stream's length (redis-exporter) by it.
        self.click_stream_maxlen = Gauge(
            "linkpulse_click_stream_maxlen",
            "The length cap web applies to the click stream (CLICK_STREAM_MAXLEN).",
            # Every gunicorn worker of one server reads the same setting: merged, one series.
            multiprocess_mode="max",
            registry=registry,
        )
        self.click_stream_maxlen.set(click_stream_maxlen)
        self.build_info = register_build_info(registry, version, revision)
        for result in ("found", "not_found"):
            self.redirects.labels(result=result)
        for result in ("written", "failed"):
            self.click_events.labels(result=result)
        for reason in ("quota_exceeded", "storage_full"):
            self.creates_refused.labels(reason=reason)

        # Each series a request touches is looked up once per process: labels() cost more than
        # the increments themselves, twice over on a redirect (bench/request_cost.py, issue 20).
        # These hold the same series prometheus_client keeps anyway, so no more of them.
        self._found = (
            self.redirects.labels(result="found"),
            self.click_events.labels(result="written"),
        )
        self._request_series: dict[tuple[str, str, int, bool], tuple[Counter, Histogram]] = {}

    def count_found_redirect(self) -> None:
        """A redirect answered, its click event written with it."""
        found, written = self._found
        found.inc()
        written.inc()

    def observe_request(
        self, route: str, method: str, status: int, seconds: float, *, probe: bool = False
    ) -> None:
        key = (route, method, status, probe)
        series = self._request_series.get(key)
        if series is None:
            labels = {"route": route, "method": method, "status": str(status)}
            requests, latency = (
                (self.probe_requests, self.probe_latency)
                if probe
                else (self.requests, self.latency)
            )
            series = self._request_series[key] = (
                requests.labels(**labels),
                latency.labels(**labels),
            )
        requests_child, latency_child = series
        requests_child.inc()
        latency_child.observe(seconds)

    def exposition(self) -> bytes:
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
