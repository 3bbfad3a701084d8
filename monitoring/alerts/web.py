"""The user-facing service: clicks lost on the way into the stream, and link creations refused.
Errors and latency of redirects are SLO burn-rate alerts (monitoring/slo_rules.py)."""

from __future__ import annotations

from typing import Any

from monitoring.alerts.common import VALUE, Alert, group, increased
from monitoring.thresholds import Thresholds, spoken


def groups(thresholds: Thresholds) -> list[dict[str, Any]]:
    failing = thresholds.duration("ClickEventsFailing", "window")
    refused = thresholds.duration("LinkCreatesRefused", "window")
    rules = [
        Alert(
            "ClickEventsFailing",
            increased('linkpulse_click_events_total{result="failed"}', failing),
            severity="critical",
            summary=f"{VALUE} redirects failed to record their click in {spoken(failing)}",
            description=(
                "A redirect looks up its link and appends its click event in one Redis step; "
                "that step failed (Redis errors), so those visitors got a 503 instead of their "
                "redirect. No click is counted without its redirect or lost after one, but users "
                "are failing."
            ),
        ),
        # The storage policy refuses new links past CREATE_MEMORY_LIMIT_PERCENT of Redis's
        # maxmemory (web answers 507 storage_full). Quota refusals (429) are one client's
        # business and alert nobody.
        Alert(
            "LinkCreatesRefused",
            increased('linkpulse_link_creates_refused_total{reason="storage_full"}', refused),
            severity="critical",
            summary=f"{VALUE} link creations refused for storage in {spoken(refused)}",
            description=(
                "Redis memory is past the share new links may use, so every create answers 507 "
                "storage_full. Redirects, reads and deletes still work."
            ),
        ),
    ]
    return group("linkpulse-web", thresholds, rules)
