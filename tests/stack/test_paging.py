"""Paging a person, end to end in the stack: Alertmanager started with a webhook receiver named
by its settings (the stack's alert-sink addressed as a plain webhook, on a path of its own, so
nothing leaves this machine) gets `make test-alert`'s notification and an alert on the critical
route; a receiver that refuses connections is reported as failed with Alertmanager's reason; a bad
setting stops Alertmanager's start with one line naming it. Alertmanager is back on the shipped
receiver after."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.stack.stack import alert_sink_notifications, compose, published, up, wait_until
from tests.support.commands import run

pytestmark = pytest.mark.stack

PAGED = "/paged"  # the receiver's own path at alert-sink


def sink_host() -> str:
    """alert-sink's container name: a plain webhook host to Alertmanager, not the shipped one."""
    return compose("ps", "--format", "{{.Name}}", "alert-sink").strip()


@contextmanager
def receiver(**settings: str) -> Iterator[None]:
    """Alertmanager recreated with SETTINGS in the environment compose interpolates from."""
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        up("--no-deps", "alertmanager")
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def shipped_receiver_after() -> Iterator[None]:
    try:
        yield
    finally:
        up("--no-deps", "alertmanager")


def paged(match: dict[str, str]) -> dict[str, Any] | None:
    for notification in alert_sink_notifications():
        if notification["path"] != PAGED:
            continue
        for alert in notification["alerts"]:
            if all(alert["labels"].get(key) == value for key, value in match.items()):
                return notification
    return None


def make_test_alert(*extra: str) -> tuple[int, str]:
    result = run("make", "--no-print-directory", "test-alert", *extra, timeout=120)
    return result.returncode, (result.stdout + result.stderr).strip()


def post_real_alert(labels: dict[str, str]) -> None:
    """An alert as Prometheus sends it, on the shipped routes' own grouping and timing."""
    now = datetime.now(UTC)
    requests.post(
        f"http://{published('alertmanager', 9093)}/api/v2/alerts",
        json=[{"labels": labels, "startsAt": now.isoformat(),
               "endsAt": (now + timedelta(minutes=2)).isoformat()}],
        timeout=10,
    ).raise_for_status()  # fmt: skip


def test_a_webhook_receiver_gets_the_test_alert_and_a_critical_one_and_a_refusal_fails(
    shipped_receiver_after: None,
) -> None:
    host = sink_host()
    with receiver(ALERT_RECEIVER="webhook", ALERT_RECEIVER_KEY=f"http://{host}:9095{PAGED}"):
        # Routed as every critical alert is. A name of its own makes a new group, notified after
        # the route's group_wait: a name the stack may be firing already (ServiceAbsent after the
        # alerting test) joins a group that waits its 5 min group_interval.
        real = {"alertname": f"PagingStackTest{uuid.uuid4().hex[:8]}", "severity": "critical",
                "job": "paging-test"}  # fmt: skip
        post_real_alert(real)
        code, said = make_test_alert()
        assert code == 0, said
        delivered = rf"^test alert (\w+): delivered via webhook to {re.escape(host)}$"
        found = re.search(delivered, said, re.M)
        assert found, said
        wait_until(lambda: paged({"test_id": found[1]}), "the test alert at the webhook")
        wait_until(lambda: paged(real), "the real alert at the webhook", deadline_s=60)

    # Nothing listens on the sink's port 9.
    with receiver(ALERT_RECEIVER="webhook", ALERT_RECEIVER_KEY=f"http://{host}:9/refused"):
        code, said = make_test_alert()
    # make's status for a failed recipe is 2; the tool's own, 1, is in make's message.
    assert code == 2, said
    assert "test-alert] Error 1" in said
    failed = rf"^test alert \w+: failed via webhook to {re.escape(host)}: .*connection refused$"
    assert re.search(failed, said, re.M), said


def test_a_bad_receiver_setting_stops_alertmanager_with_one_line() -> None:
    result = run(
        "docker", "compose", "run", "--rm", "--no-deps", "-e", "ALERT_RECEIVER=pager",
        "alertmanager", timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "alertmanager: ALERT_RECEIVER=pager is not one of sink, webhook, slack, pagerduty, email"
        in result.stderr
    )
    assert compose("ps", "--quiet", "--status", "running", "alertmanager").strip()
