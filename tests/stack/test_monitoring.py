"""Prometheus scrapes every part of the stack."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.stack.stack import Stack, wait_until

pytestmark = pytest.mark.stack

EXPECTED_JOBS = {"prometheus", "alertmanager", "web", "worker", "redis", "nginx", "node"}


def test_prometheus_reports_every_scrape_target_up(stack: Stack) -> None:
    def all_up() -> list[dict[str, Any]] | None:
        response = requests.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10)
        targets: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
        if all(target["health"] == "up" for target in targets):
            return targets
        return None

    targets = wait_until(all_up, "every Prometheus target to be up", deadline_s=90)

    assert {target["labels"]["job"] for target in targets} >= EXPECTED_JOBS
