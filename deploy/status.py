"""`status`: what runs on the VM, which version, healthy or not, and what the app reports."""

from __future__ import annotations

import requests

from deploy.config import Config
from deploy.deployer import free_port
from deploy.layout import Layout
from deploy.ssh import Remote
from deploy.vm import Vm

BUILD_INFO_QUERY = (
    'group by (instance, revision) ({__name__=~"linkpulse_(web_)?build_info", job="web"})'
)


def reported_revisions(remote: Remote, prometheus_port: int) -> list[str]:
    """Revisions the running web instances report through their build-info metric."""
    port = free_port()
    with remote.forward(port, prometheus_port):
        response = requests.get(
            f"http://127.0.0.1:{port}/api/v1/query", params={"query": BUILD_INFO_QUERY}, timeout=10
        )
    response.raise_for_status()
    return sorted(
        {item["metric"].get("revision", "") for item in response.json()["data"]["result"]}
    )


def report(config: Config, remote: Remote) -> str:
    layout = Layout(config.app.remote_dir)
    vm = Vm(remote, layout)
    current = remote.run(["cat", layout.current], check=False).stdout.strip() or "none"
    lines = [f"host {remote.label}", f"current release: {current}"]
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
