"""Faults under load: nothing acknowledged is lost, every click served is counted exactly once.

While tests/stack/traffic.py creates and follows links through nginx, each fault of
tests/stack/faults.py is injected. Afterwards every link that got a 201 still resolves, and each
link's counted clicks equal the 302s it served, exactly. During the fault the API answers 503
JSON and a redirect a clear 503 page, never a 500 or a traceback; the stack recovers without an
operator. Each fault's figures (failed requests by status, recovery time, alerts pending or
firing) go to build/faults/, and docs/resilience.md publishes a run's table.

`make test` runs the cheapest faults (faults.SHORT_PROFILE); `make chaos` runs every fault with
FAULT_PROFILE=all.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.stack.faults import FAULTS, SHORT_PROFILE
from tests.stack.stack import REPO_ROOT, Stack, wait_until
from tests.stack.traffic import NO_ANSWER, Traffic, TrafficLog, assert_nothing_lost

pytestmark = pytest.mark.stack

RESULTS_DIR = REPO_ROOT / "build" / "faults"
WARM_UP_S = 3
SETTLE_S = 3
# Faults of web itself may cut a request nginx already sent: nginx answers 502 for it.
WEB_FAULTS = {"kill -9 gunicorn workers", "restart web"}


def _profile() -> list[str]:
    if os.environ.get("FAULT_PROFILE", "short") == "all":
        return list(FAULTS)
    return list(SHORT_PROFILE)


def _ready(stack: Stack) -> bool:
    response = requests.get(f"{stack.app_url}/readyz", timeout=5)
    return response.status_code == 200 and response.json() == {"status": "ready"}


def _assert_failures_are_clear(log: TrafficLog, fault: str) -> None:
    allowed = {503} | ({502, NO_ANSWER} if fault in WEB_FAULTS else set())
    for failure in log.failures:
        assert failure.status in allowed, (fault, failure)
        assert "Traceback" not in failure.body
        if failure.status == 503 and failure.kind == "create":
            assert json.loads(failure.body)["error"]["code"] == "service_unavailable"


def _record(
    fault: str,
    log: TrafficLog,
    recovery_s: float,
    alerts: set[str],
    details: dict[str, float | int],
    lost: str = "unchecked",
) -> dict[str, Any]:
    """Write the fault's figures; `lost` becomes "none" once the checks have passed."""
    row = {
        "fault": fault,
        "links_created": len(log.created),
        "redirects_served": sum(log.redirects.values()),
        "failed": len(log.failures),
        "failed_by_status": {
            ("no answer" if status == NO_ANSWER else str(status)): count
            for status, count in sorted(log.failure_statuses().items())
        },
        "recovery_s": round(recovery_s, 1),
        "alerts": sorted(alerts),
        "lost": lost,
        **details,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in fault)
    Path(RESULTS_DIR / f"{slug}.json").write_text(json.dumps(row, indent=2) + "\n")
    return row


@pytest.mark.parametrize("fault", _profile())
def test_fault_under_load_loses_nothing(stack: Stack, fault: str) -> None:
    wait_until(lambda: _ready(stack), "the stack to be ready before the fault", 120)
    alerts_before = stack.active_alerts()
    with Traffic(stack.app_url) as traffic:
        time.sleep(WARM_UP_S)
        started = time.monotonic()
        figures = FAULTS[fault]()
        wait_until(lambda: _ready(stack), f"readiness after {fault}", 120)
        time.sleep(SETTLE_S)
        alerts = stack.active_alerts() - alerts_before
    log = traffic.log
    last_failure = max((failure.at for failure in log.failures), default=started)
    recovery_s = max(0.0, last_failure - started)
    details: dict[str, float | int] = {}
    if figures is not None:
        alerts |= figures.alerts
        recovery_s, details = figures.recovery_s, figures.details
    row = _record(fault, log, recovery_s, alerts, details)
    print(json.dumps(row))

    assert log.successes["create"], row
    assert log.successes["redirect"], row
    _assert_failures_are_clear(log, fault)
    assert_nothing_lost(stack, log)
    _record(fault, log, recovery_s, alerts, details, lost="none")
