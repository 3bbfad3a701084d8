"""Alertmanager delivers end to end: a stalled click pipeline reaches the stack's alert-sink, and
so does its resolution. Prometheus and Alertmanager run with short timings here only
(tests/stack/fast_alerting.py); the rules and routes are the shipped ones."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.stack.fast_alerting import fast_alerting
from tests.stack.stack import Stack, alert_sink_notifications, compose, up, wait_until

pytestmark = pytest.mark.stack

STALLED = {"alertname": "ServiceAbsent", "job": "worker"}


class Traffic:
    """Redirects on one link from a background thread, about ten a second, until stopped."""

    def __init__(self, stack: Stack, code: str) -> None:
        self.stack = stack
        self.code = code
        self.redirected = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                if self.stack.click(self.code).status_code == 302:
                    self.redirected += 1
            except requests.RequestException:
                continue  # not counted: the assertion at the end counts only redirects served

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def delivered(since: int, status: str) -> dict[str, Any] | None:
    """The first notification after index SINCE carrying the stalled-pipeline alert as STATUS."""
    for notification in alert_sink_notifications()[since:]:
        for alert in notification["alerts"]:
            labels = alert["labels"]
            if alert["status"] == status and all(labels.get(k) == v for k, v in STALLED.items()):
                return notification
    return None


@pytest.fixture
def fast() -> Iterator[None]:
    with fast_alerting():
        yield


def test_stopped_worker_pages_through_alertmanager_and_resolves(stack: Stack, fast: None) -> None:
    code = stack.create_link(f"https://example.com/alerting/{uuid.uuid4().hex}")["code"]
    before = len(alert_sink_notifications())
    with Traffic(stack, code) as traffic:
        wait_until(lambda: traffic.redirected >= 20, "traffic to flow")
        compose("stop", "worker")
        try:
            page = wait_until(
                lambda: delivered(before, "firing"),
                "the stalled-pipeline alert at alert-sink",
                deadline_s=120,
            )
        finally:
            up("worker")
        resolved = wait_until(
            lambda: delivered(before, "resolved"),
            "its resolved notification at alert-sink",
            deadline_s=120,
        )
    # Critical: routed to the pager receiver, which the shipped config points at alert-sink.
    assert (page["receiver"], page["path"]) == ("team-pager", "/critical")
    assert resolved["receiver"] == "team-pager"
    # The redirects kept working while no worker ran, and not one of their clicks was lost.
    stack.wait_for_clicks(code, traffic.redirected, deadline_s=90)
