"""The click-stream fault: every worker stopped while redirects go on, the stream filling toward
its length cap, until ClickStreamNearCap fires; then the workers come back and drain it.

Toward the cap, never past it: past it web's `XADD MAXLEN ~` trims events nobody has counted
(ClickEventsLost). The fill comes from real redirects through nginx (a filler link followed by a
few threads, besides the fault tier's own traffic), so the cap must be small: the stack tier sets
CLICK_STREAM_MAXLEN low (Makefile, TEST_STACK_SETTINGS). The filler stops just past the alert's
threshold; the fault tier's traffic keeps appending until the alert fires, which the cap leaves
room for. Prometheus and Alertmanager run with the stack tier's short timings meanwhile
(fast_alerting): the shipped `for: 1m` would let that traffic run the stream into its cap.
"""

from __future__ import annotations

import time

import pytest
import requests

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM
from slo import duration_seconds
from tests.stack.fast_alerting import EVALUATION_INTERVAL, fast_alerting
from tests.stack.fault_figures import FaultFigures
from tests.stack.stack import (
    Stack,
    alert_sink_notifications,
    compose,
    redis_cli,
    up,
    wait_until,
)
from tests.stack.traffic import Traffic

ALERT = "ClickStreamNearCap"
# The alert's threshold is 0.8 (monitoring/prometheus/rules/pipeline.yml): stop filling just past
# it. Above GIVE_UP the cap is too close: the workers are started again before anything is lost.
FILL_TARGET = 0.82
GIVE_UP = 0.95
# Larger caps take minutes of redirects to fill on a 2-core machine.
LARGEST_CAP = 50_000
FILLER_THREADS = 6
ALERT_DEADLINE_S = 90


def _stream_length() -> int:
    return int(redis_cli(f"XLEN {CLICK_STREAM}").strip())


def _stream_cap() -> int:
    """The CLICK_STREAM_MAXLEN web runs with (what its append trims to)."""
    read = "import os; print(os.environ['CLICK_STREAM_MAXLEN'])"
    return int(compose("exec", "-T", "web", "python", "-c", read).strip())


def _stream_id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _last_entry_id() -> str:
    return redis_cli(f"XREVRANGE {CLICK_STREAM} + - COUNT 1").split()[0]


def _group_field(name: str) -> str:
    """One field of the click group's XINFO GROUPS entry (redis-cli prints one value a line)."""
    lines = redis_cli(f"XINFO GROUPS {CLICK_STREAM}").splitlines()
    start = next(i for i in range(len(lines) - 1) if lines[i : i + 2] == ["name", CLICK_GROUP])
    end = next((i for i in range(start + 2, len(lines)) if lines[i] == "name"), len(lines))
    fields = lines[start:end]
    return fields[fields.index(name) + 1]


def _counted_up_to(entry_id: str) -> bool:
    """Every event up to ENTRY_ID delivered to a worker and acknowledged by it."""
    if _stream_id(_group_field("last-delivered-id")) < _stream_id(entry_id):
        return False
    pending = redis_cli(f"XPENDING {CLICK_STREAM} {CLICK_GROUP}").split()
    return pending[0] == "0" or _stream_id(pending[1]) > _stream_id(entry_id)


def fill_click_stream() -> FaultFigures:
    stack = Stack.discover()
    cap = _stream_cap()
    if cap > LARGEST_CAP:
        pytest.skip(f"CLICK_STREAM_MAXLEN is {cap}: filling it takes too long (stack tier: 20000)")
    with fast_alerting():
        already = _alert_names(_alerts_of_the_past(stack))
        notified_before = len(alert_sink_notifications())
        compose("stop", "worker")
        try:
            seen, longest, filler = _fill_until_the_alert(stack, cap)
            seen = {alert for alert in seen if alert.partition(" (")[0] not in already}
        finally:
            last_before_restart = _last_entry_id()
            restarted = time.monotonic()
            up("worker")
        wait_until(
            lambda: _counted_up_to(last_before_restart), "the workers to drain the backlog", 120
        )
        recovery_s = time.monotonic() - restarted
        # Alertmanager keeps what it notified (its volume): an alert left firing there would
        # not be notified again for an hour, in the next run's alerting test for one.
        wait_until(
            lambda: _resolved_everywhere(stack, seen, notified_before),
            "the fault's alerts to resolve and their resolution to be notified",
            120,
        )
    # Redirects need no worker: not one of the filler's failed, and each one is counted. (Its
    # threads start together, so each may create a link before following one.)
    assert not filler.log.failures, filler.log.failures[:3]
    for code, served in filler.log.redirects.items():
        assert stack.clicks(code) == served, (code, served)
    # Recovery: from starting the workers to every event appended before that counted.
    return FaultFigures(
        alerts=frozenset(seen),
        recovery_s=recovery_s,
        details={
            "stream_cap": cap,
            "stream_fill_reached": round(longest / cap, 3),  # longest length seen / cap
            "filler_redirects": sum(filler.log.redirects.values()),
        },
    )


def _alert_names(alerts: set[str]) -> set[str]:
    return {alert.partition(" (")[0] for alert in alerts}


def _alerts_of_the_past(stack: Stack) -> set[str]:
    """Alerts the restarted Prometheus raises from what it stored before the fault.

    The stack tier's Prometheus keeps its volume across runs, and with `for:` shortened an
    earlier fault's errors still in a burn-rate window make an alert fire now: not this fault's.
    Waits for every target to be scraped up (or a just-started Prometheus finds the workers
    absent), then for two evaluations of every rule group (an alert may read a recording rule
    evaluated after it).
    """

    def scraped_and_evaluated() -> bool:
        targets = requests.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10).json()
        groups = requests.get(f"{stack.prometheus_url}/api/v1/rules", timeout=10).json()
        return all(target["health"] == "up" for target in targets["data"]["activeTargets"]) and all(
            not group["lastEvaluation"].startswith("0001-") for group in groups["data"]["groups"]
        )

    wait_until(scraped_and_evaluated, "Prometheus to scrape every target and evaluate", 60)
    time.sleep(2 * duration_seconds(EVALUATION_INTERVAL))
    return stack.active_alerts()


def _resolved_everywhere(stack: Stack, raised: set[str], notified_before: int) -> bool:
    """None of the alerts RAISED firing any more, and each one notified firing notified resolved.

    Pending ones are left alone: a burn-rate or failing-clicks alert set off by an earlier fault
    can be pending for its whole window; it is notified neither way.
    """
    still_firing = {alert for alert in raised if alert.endswith("(firing)")} & stack.active_alerts()
    assert not still_firing, f"still firing: {still_firing}"
    notified: dict[str, set[tuple[tuple[str, str], ...]]] = {"firing": set(), "resolved": set()}
    for notification in alert_sink_notifications()[notified_before:]:
        for alert in notification["alerts"]:
            notified[alert["status"]].add(tuple(sorted(alert["labels"].items())))
    unresolved = notified["firing"] - notified["resolved"]
    assert not unresolved, f"notified firing, not yet resolved: {unresolved}"
    return True


def _fill_until_the_alert(stack: Stack, cap: int) -> tuple[set[str], int, Traffic]:
    """Fill to FILL_TARGET, then wait for the alert while the fault tier's traffic goes on."""
    seen: set[str] = set()
    longest = 0
    # One link, then only redirects to it, as fast as the threads go.
    with Traffic(stack.app_url, threads=FILLER_THREADS, creates_every=2**62, pause_s=0) as filler:
        while longest < FILL_TARGET * cap:
            time.sleep(0.5)
            longest = max(longest, _stream_length())
            seen |= stack.active_alerts()
    deadline = time.monotonic() + ALERT_DEADLINE_S
    while f"{ALERT} (firing)" not in seen:
        assert time.monotonic() < deadline, f"{ALERT} did not fire ({seen})"
        seen |= stack.active_alerts()
        longest = max(longest, _stream_length())
        assert longest < GIVE_UP * cap, f"{longest} of {cap} entries and {ALERT} not firing"
        time.sleep(1)
    return seen, longest, filler
