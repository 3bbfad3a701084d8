"""`status`: what runs on the VM, which version, healthy or not, and what the app reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from deploy.config import Config
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.lock import DeployLock, describe_lock
from deploy.outcome import read_kept
from deploy.ssh import Remote
from deploy.swarm_deployer import stack_status, swarm_layout
from deploy.swarm_stack import SwarmStack
from deploy.target import free_port
from deploy.vm import Vm

# Instances scraped within the last 30 s (three scrapes): a Prometheus restarted on its old data
# (a move from compose to Swarm) would otherwise list instances gone before the restart for the
# 5 minutes of its lookback, because nobody marked their series stale.
BUILD_INFO_QUERY = (
    "group by (instance, revision) "
    '(last_over_time({__name__=~"linkpulse_(web_)?build_info", job="web"}[30s]))'
)


def revisions(result: list[dict[str, Any]]) -> list[str]:
    return sorted({item["metric"].get("revision", "") for item in result})


def reported_revisions(remote: Remote, prometheus_port: int) -> list[str]:
    """Revisions the running web instances report through their build-info metric."""
    port = free_port()
    with remote.forward(port, prometheus_port):
        response = requests.get(
            f"http://127.0.0.1:{port}/api/v1/query", params={"query": BUILD_INFO_QUERY}, timeout=10
        )
    response.raise_for_status()
    return revisions(response.json()["data"]["result"])


def lock_report(remote: Remote, root: str) -> list[str]:
    """The lock's holder, a release left serving unverified by a deploy that is gone, and why a
    failed or paused deploy kept the lock."""
    lock = DeployLock(remote, root)
    state = lock.state(datetime.now(UTC))
    first, *rest = describe_lock(state)
    kept = read_kept(remote, lock.path) if state is not None else None
    return [f"deploy lock: {first}", *rest, *([kept.describe()] if kept else [])]


def report(config: Config, remote: Remote) -> str:
    layout = Layout(config.app.remote_dir)
    vm = Vm(remote, layout)
    current = remote.run(["cat", layout.current], check=False).stdout.strip() or "none"
    lines = [f"host {remote.label}", f"current release: {current}"]
    lines += lock_report(remote, layout.root)
    for container in vm.containers(include_stopped=True):
        lines.append(
            f"  {container.service:<15} {container.name:<28} "
            f"{container.tag[:12] or container.image:<14} "
            f"{container.status:<8} {container.health}"
        )
    try:
        revisions = reported_revisions(remote, config.gate.prometheus_port)
        lines.append(f"web reports revision(s): {', '.join(revisions) or 'none yet'}")
    except (requests.RequestException, ValueError, KeyError, OSError) as error:
        lines.append(f"web's reported revision: unknown (Prometheus: {error})")
    return "\n".join(lines)


def swarm_report(config: Config, remote: Remote) -> str:
    """The same report for `--target swarm`: the stack's services instead of containers."""
    layout = swarm_layout(config)
    stack = SwarmStack(remote, config.swarm.stack)
    current = remote.run(["cat", layout.current], check=False).stdout.strip() or "none"
    lines = [f"swarm manager {remote.label}, stack {stack.name}", f"current release: {current}"]
    lines += lock_report(remote, layout.root)
    lines += stack_status(stack)
    try:
        reported = revisions(stack.vector(BUILD_INFO_QUERY))
        lines.append(f"web reports revision(s): {', '.join(reported) or 'none yet'}")
    except (DeployError, KeyError) as error:
        lines.append(f"web's reported revision: unknown (Prometheus: {error})")
    return "\n".join(lines)
