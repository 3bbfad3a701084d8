"""The click pipeline: stream -> consumer group -> aggregates. The figures come from the workers,
which all report the same stream and group state; alerts take the maximum."""

from __future__ import annotations

from typing import Any

from linkpulse.contract import DEAD_LETTER_STREAM
from monitoring.alerts.common import (
    VALUE,
    VALUE_DURATION,
    VALUE_PERCENT,
    Alert,
    group,
    increased,
    literal,
)
from monitoring.thresholds import Thresholds, count, percent, spoken
from slo import duration_seconds

_PROCESSED = "linkpulse_worker_events_processed_total"


def _events(outcome: str, window: str) -> str:
    """Any event of one outcome the workers met in the window."""
    return increased(f'{_PROCESSED}{{outcome="{outcome}"}}', window)


# The events a worker finds but cannot count, by their outcome: any one in the alert's window fires
# it. Its name, severity, summary and description.
_UNCOUNTED = {
    "missing": (
        "ClickEventsLost",
        "critical",
        f"{VALUE} click events were trimmed before being counted",
        "Workers found events that the stream's length cap deleted before they were processed. "
        "Those clicks are missing from the statistics.",
    ),
    # A poison event no longer stops the pipeline: the worker moves it to the dead-letter
    # stream and goes on. Someone still has to look at why a producer writes such events.
    "malformed": (
        "ClickEventsDeadLettered",
        "warning",
        f"{VALUE} unreadable click events moved to the dead-letter stream",
        "Workers found click events they cannot read (not UTF-8, an unknown version, missing or "
        f"bad fields) and moved them, unchanged, to {DEAD_LETTER_STREAM}. They are not counted.",
    ),
}


def _stream(thresholds: Thresholds) -> list[Alert]:
    fill = thresholds.number("ClickStreamNearCap", "above")
    return [
        # The stream's length cap is a memory safety valve. Reaching it deletes events before
        # the workers have counted them, so approaching it must page someone, never pass silently.
        Alert(
            "ClickStreamNearCap",
            f"job:linkpulse_click_stream_fill:ratio > {literal(fill)}",
            severity="critical",
            summary=f"Click stream is {VALUE_PERCENT} of its length cap",
            description=(
                f"The click stream holds more than {percent(fill)} of CLICK_STREAM_MAXLEN "
                "entries. At 100% the oldest unprocessed clicks are trimmed away and lost."
            ),
        ),
        *(
            Alert(
                name,
                _events(outcome, thresholds.duration(name, "window")),
                severity=severity,
                summary=summary,
                description=description,
            )
            for outcome, (name, severity, summary, description) in _UNCOUNTED.items()
        ),
    ]


def _workers(thresholds: Thresholds) -> list[Alert]:
    backlog, backlog_for = (
        thresholds.number("WorkerLagHigh", "above"),
        thresholds.duration("WorkerLagHigh", "for"),
    )
    age = thresholds.duration("OldestEventTooOld", "above")
    idle = thresholds.duration("WorkerNoProgress", "idle")
    unreachable = thresholds.duration("WorkerNoProgress", "unreachable")
    return [
        Alert(
            "WorkerLagHigh",
            f"job:linkpulse_worker_backlog:max > {literal(backlog)}",
            severity="warning",
            summary=f"{VALUE} click events wait for the workers",
            description=(
                "Undelivered plus unacknowledged entries in the consumer group have stayed above "
                f"{count(backlog)} for {spoken(backlog_for)}: the workers do not keep up with the "
                "click rate."
            ),
        ),
        Alert(
            "OldestEventTooOld",
            "job:linkpulse_worker_oldest_unprocessed_event_age_seconds:max"
            f" > {duration_seconds(age)}",
            severity="warning",
            summary=f"Statistics are {VALUE_DURATION} behind",
            description=(
                f"The oldest click event not yet acknowledged is more than {spoken(age)} old, so "
                "the numbers on the stats pages are at least that stale."
            ),
        ),
        # Stalled: there is work, but no events were handled for a while, or no worker loop has
        # reached Redis for a while.
        Alert(
            "WorkerNoProgress",
            "(\n"
            f"  sum by (job) (increase({_PROCESSED}[{idle}])) == 0\n"
            "  or\n"
            "  time() - max by (job) (linkpulse_worker_last_success_timestamp_seconds)"
            f" > {duration_seconds(unreachable)}\n"
            ")\n"
            "and on (job) job:linkpulse_worker_backlog:max > 0\n",
            severity="critical",
            summary="Workers are not processing a backlog of click events",
            description=(
                "The consumer group has undelivered or unacknowledged events, yet the workers "
                f"have handled none for {spoken(idle)} or have not reached Redis for "
                f"{spoken(unreachable)}."
            ),
        ),
    ]


def groups(thresholds: Thresholds) -> list[dict[str, Any]]:
    rules = [*_stream(thresholds), *_workers(thresholds)]
    return group("linkpulse-pipeline", thresholds, rules)
