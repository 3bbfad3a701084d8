"""`test-alert`, `make test-alert`: one notification through the real route, and its delivery.

The test alert goes to Alertmanager's API like any alert Prometheus sends; the shipped routes
send it at once through the pager's receiver (monitoring/alertmanager/alertmanager.yml). Delivery is
read from Alertmanager's own counters for that integration, because a chat or paging service
cannot be asked: a request it accepted is delivered, a notification Alertmanager gave up on is
failed, and the reason is the error Alertmanager logged (with the receiver's URL redacted).
Everything runs inside the Alertmanager container (its API is not published on a VM or a Swarm),
through `exec`: `docker compose exec` locally, `docker exec` over SSH on a VM or Swarm manager.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deploy.alert_route import (
    SINK,
    SINK_HOST,
    Exec,
    Read,
    active_config,
    alertmanager_container,
    in_container,
    receivers,
)
from deploy.errors import DeployError
from deploy.ssh import Remote

ALERT_NAME = "LinkpulseTestAlert"  # the shipped test route's matcher
PAGER = "team-pager"  # the receiver the test route names
API = "http://127.0.0.1:9093"  # Alertmanager, from inside its own container
TIMEOUT_S = 60.0  # a retryable failure is given up after the route's 10 s notify timeout
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_ERR = re.compile(r'\berr="((?:[^"\\]|\\.)*)"|\berr=(\S+)')


@dataclass(frozen=True)
class Counts:
    requests: float = 0.0
    failed_requests: float = 0.0
    failed: float = 0.0  # notifications Alertmanager gave up on

    @property
    def accepted(self) -> float:
        return self.requests - self.failed_requests


def counts(metrics: str, integration: str) -> Counts:
    """The notification counters of one integration (webhook, slack, ...), summed over labels."""
    totals = {"requests": 0.0, "failed_requests": 0.0, "failed": 0.0}
    names = {
        "alertmanager_notification_requests_total": "requests",
        "alertmanager_notification_requests_failed_total": "failed_requests",
        "alertmanager_notifications_failed_total": "failed",
    }
    for line in metrics.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or sample["name"] not in names:
            continue
        if f'integration="{integration}"' in sample["labels"].split(","):
            totals[names[sample["name"]]] += float(sample["value"])
    return Counts(**totals)


def outcome(before: Counts, after: Counts) -> str | None:
    """delivered, failed, or None while Alertmanager is still trying."""
    if after.failed > before.failed:
        return "failed"
    if after.accepted > before.accepted:
        return "delivered"
    return None


def failure_reason(log: str) -> str:
    """The error of Alertmanager's last failed notification in LOG."""
    for line in reversed(log.splitlines()):
        if "Notify" in line and "failed" in line and (found := _ERR.search(line)):
            return (found.group(1) or found.group(2)).replace('\\"', '"')
    return "Alertmanager logged no error (see its log)"


def alert_payload(
    test_id: str, now: datetime, *, resolved: bool = False
) -> list[dict[str, object]]:
    ends = now if resolved else now + timedelta(minutes=5)
    return [
        {
            "labels": {"alertname": ALERT_NAME, "severity": "critical", "test_id": test_id},
            "annotations": {"summary": "linkpulse test alert: someone asked whether paging works"},
            "startsAt": now.isoformat(),
            "endsAt": ends.isoformat(),
        }
    ]


def _post(run: Exec, alerts: list[dict[str, object]]) -> None:
    body = json.dumps(alerts)
    run(["wget", "-qO-", "--header", "Content-Type: application/json",
         "--post-data", body, f"{API}/api/v2/alerts"])  # fmt: skip


def pager_integration(config_text: str, read: Read) -> tuple[str, str]:
    """The test route's integration kind, and where it goes (as `status` prints it)."""
    targets = receivers(config_text, read).get(PAGER)
    if not targets:
        raise DeployError(f"Alertmanager's configuration has no {PAGER} integration to test")
    target = targets[0]
    if target.endswith(f"to {SINK_HOST}"):
        return "webhook", f"{SINK} (nobody is paged)"
    return target.split()[0], target


def send_test_alert(run: Exec, log: Callable[[], str], timeout_s: float = TIMEOUT_S) -> str:
    """Send one test alert; return the report line, or raise DeployError with it."""
    kind, where = pager_integration(active_config(run), lambda path: run(["cat", path]))
    metrics = f"{API}/metrics"
    before = counts(run(["wget", "-qO-", metrics]), kind)
    test_id = uuid.uuid4().hex[:12]
    started = datetime.now(UTC)
    _post(run, alert_payload(test_id, started))
    deadline = time.monotonic() + timeout_s
    result = None
    while result is None and time.monotonic() < deadline:
        time.sleep(1)
        result = outcome(before, counts(run(["wget", "-qO-", metrics]), kind))
    # Resolved at once, so that a pager's incident closes itself.
    _post(run, alert_payload(test_id, datetime.now(UTC), resolved=True))
    if result == "delivered":
        return f"test alert {test_id}: delivered via {where}"
    if result == "failed":
        raise DeployError(f"test alert {test_id}: failed via {where}: {failure_reason(log())}")
    raise DeployError(
        f"test alert {test_id}: no outcome via {where} within {timeout_s:.0f} s "
        "(Alertmanager is still retrying; see its log)"
    )


def remote_test_alert(remote: Remote, target: str, stack: str) -> str:
    """`python -m deploy test-alert`: the Alertmanager on the VM or the Swarm manager."""
    container = alertmanager_container(remote, target, stack)

    def log() -> str:
        # Alertmanager logs to stderr.
        return remote.run(["docker", "logs", "--since", "5m", container], check=False).stderr

    return send_test_alert(in_container(remote, container), log)


def _local(argv: list[str]) -> str:
    """ARGV run by `docker compose` in this checkout (its .env and COMPOSE_FILE apply)."""
    result = subprocess.run(
        ["docker", "compose", *argv], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise DeployError(f"docker compose {argv[0]}: {result.stderr.strip()[-300:]}")
    return result.stdout


def main() -> None:
    """`make test-alert`: the local stack's Alertmanager."""
    try:
        print(
            send_test_alert(
                lambda argv: _local(["exec", "-T", "alertmanager", *argv]),
                lambda: _local(["logs", "--no-log-prefix", "--since", "5m", "alertmanager"]),
            )
        )
    except DeployError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
