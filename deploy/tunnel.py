"""`tunnel`: Prometheus, Alertmanager and Grafana from the VM's loopback on this machine.

On a VM compose publishes them on 127.0.0.1 only (docker-compose.yml), so nothing outside
reaches them; the pinned SSH connection carries each port here until Ctrl-C. Each local port is
the VM's own number when that is free here, so bookmarks keep working, and any free one if not.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
from invoke.exceptions import ThreadException

from deploy.config import Config
from deploy.containers import SWARM
from deploy.deployer import remote_for
from deploy.errors import DeployError
from deploy.ssh import Remote
from deploy.target import free_port

if TYPE_CHECKING:
    from deploy.cli import Context

# docker-compose.yml's published ports (ALERTMANAGER_PORT, GRAFANA_PORT), which a deploy does
# not change; Prometheus's is the config's, as the SLO check reads it.
ALERTMANAGER_PORT = 9093
GRAFANA_PORT = 3000


@dataclass(frozen=True)
class Forward:
    name: str
    local_port: int
    remote_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}/"


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def plan_forwards(
    config: Config, is_free: Callable[[int], bool], any_port: Callable[[], int]
) -> list[Forward]:
    wanted = {
        "Prometheus": config.gate.prometheus_port,
        "Alertmanager": ALERTMANAGER_PORT,
        "Grafana": GRAFANA_PORT,
    }
    return [
        Forward(name, port if is_free(port) else any_port(), port) for name, port in wanted.items()
    ]


def run_tunnel(config: Config, remote: Remote, echo: Callable[[str], None]) -> None:
    forwards = plan_forwards(config, port_is_free, free_port)
    try:
        with contextlib.ExitStack() as stack:
            for forward in forwards:
                stack.enter_context(remote.forward(forward.local_port, forward.remote_port))
            for forward in forwards:
                echo(f"{forward.name:<13} {forward.url}")
            echo(f"forwarding from {remote.label}: Ctrl-C ends the tunnel")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    except ThreadException:
        # fabric raises, as the tunnel closes, the connections the VM refused (seen here).
        echo("tunnel closed; the VM refused some connections: is that UI running? (deploy ps)")
        return
    echo("tunnel closed")


@click.command()
@click.pass_obj
def tunnel(context: Context) -> None:
    """Forward Prometheus, Alertmanager and Grafana from the VM here until Ctrl-C."""
    if context.target == SWARM:
        raise DeployError(
            "tunnel reaches the VM's loopback, where Swarm publishes nothing: see "
            "docs/scaling.md, Reaching the monitoring UIs"
        )
    config = context.config()
    with remote_for(config) as remote:
        run_tunnel(config, remote, click.echo)
