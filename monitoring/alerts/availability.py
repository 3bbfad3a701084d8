"""Is everything there? Scrape health of every target and of the public entry."""

from __future__ import annotations

from typing import Any

from monitoring.alerts.common import Alert, group, label
from monitoring.thresholds import Thresholds, spoken

# A scaled service discovered through DNS has no "down" target when its last replica stops: the
# name stops resolving and the target list is simply empty. What its absence means, per job.
_ABSENT = {
    "web": (
        "No web replica is up",
        "Every request through nginx is failing with 502.",
    ),
    "worker": (
        "No click worker is up",
        "Clicks are still recorded in the stream but no statistics are updated, and the stream "
        "is growing towards its cap.",
    ),
}


def groups(thresholds: Thresholds) -> list[dict[str, Any]]:
    down_for = thresholds.duration("TargetDown", "for")
    absent_for = thresholds.duration("ServiceAbsent", "for")
    nginx_for = thresholds.duration("NginxDown", "for")
    rules = [
        Alert(
            "TargetDown",
            "up == 0",
            severity="warning",
            summary=f"{label('job')} target {label('instance')} is down",
            description=(
                f"Prometheus has failed to scrape {label('instance')} (job {label('job')}) for "
                f"{spoken(down_for)}: the process is down, hung, or unreachable on the "
                "monitoring network."
            ),
        )
    ]
    rules += [
        Alert(
            "ServiceAbsent",
            f'absent(up{{job="{job}"}} == 1)',
            severity="critical",
            labels={"job": job},
            summary=summary,
            description=(
                f"No {job} target has answered a scrape for {spoken(absent_for)}. {impact}"
            ),
        )
        for job, (summary, impact) in _ABSENT.items()
    ]
    rules.append(
        Alert(
            "NginxDown",
            "nginx_up == 0",
            severity="critical",
            summary="nginx, the only public entry, does not answer",
            description=(
                f"nginx-exporter cannot read nginx's stub_status on :8081 for {spoken(nginx_for)}."
                " Unless only the status port is affected, the whole site is unreachable."
            ),
        )
    )
    return group("linkpulse-availability", thresholds, rules)
