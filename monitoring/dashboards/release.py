"""Release: what is running where, and whether the new version behaves as well as the old one.
Watch this one during a deploy; the deploy annotations mark its start, finish or rollback."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from linkpulse.routes import REDIRECT_ROUTE
from monitoring.dashboards.common import Query, graph, listing, new_dashboard, numbered, single
from slo import SloSpec

UID = "linkpulse-release"


def build(spec: SloSpec) -> object:
    board = new_dashboard(
        UID,
        "linkpulse release",
        "During a deploy: which version each replica runs, and error ratio and p99 latency "
        "by version. Blue marks: a new build started reporting; purple: the deploy tool's "
        "start, finish and rollback.",
    )
    board.with_row(dashboard.Row("What runs where"))
    board.with_panel(
        listing(
            "Version per replica",
            "Every web and worker process Prometheus scrapes, with the version and revision it "
            "reports (linkpulse_build_info).",
            "none",
            Query("max by (job, instance, version, revision) (linkpulse_build_info)"),
            width=16,
        )
    )
    board.with_panel(
        single(
            "Replicas per version",
            "Processes running each version, per service. Two versions side by side: a rollout "
            "is under way (or stuck half-way).",
            "none",
            Query("version:linkpulse_build_info:count", "{{job}} {{version}}"),
            width=8,
            height=8,
        )
    )
    board.with_row(dashboard.Row("New against old"))
    availability = spec.error_ratio_limit(REDIRECT_ROUTE)
    board.with_panel(
        graph(
            "Server errors by version",
            "Share of user requests answered with a 5xx over 5 minutes, per version (0 when "
            "a version serves without errors). The line is what the availability objective "
            "allows; a new version far above it should be rolled back.",
            "percentunit",
            Query("version:linkpulse_http_5xx:ratio_rate5m", "{{version}}"),
            Query(f"vector({availability:g})", "allowed"),
        )
    )
    quantile, seconds = spec.latency_limit(REDIRECT_ROUTE)
    board.with_panel(
        graph(
            "Latency p99 by version",
            f"99th percentile of request duration over 5 minutes, per version. The redirect "
            f"objective: {quantile:.0%} within {seconds * 1000:.0f} ms.",
            "s",
            Query("version:linkpulse_http_request_duration_seconds:p99_5m", "{{version}}"),
            Query(f"vector({seconds:g})", "objective"),
        )
    )
    board.with_panel(
        graph(
            "Requests by version",
            "User requests per second each version answers: traffic moving from the old "
            "version to the new one.",
            "reqps",
            Query("version:linkpulse_http_requests:rate5m", "{{version}}"),
        )
    )
    board.with_panel(
        graph(
            "Worker events by version",
            "Click events handled per second by workers of each version, by outcome.",
            "ops",
            Query("version:linkpulse_worker_events_processed:rate1m", "{{version}} {{outcome}}"),
        )
    )
    return numbered(board)
