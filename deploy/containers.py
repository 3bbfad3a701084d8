"""The services an operator verb (logs, exec, ps) may name, and how their containers are found.

Pure argv builders: the verbs run what these return over the pinned SSH connection, and the unit
tests read them as strings. A name is checked before anything connects, so a typo runs nothing.
"""

from __future__ import annotations

import click

from deploy.commands import PROJECT, PROJECT_LABEL, SERVICE_LABEL
from deploy.errors import DeployError
from deploy.swarm_stack import SERVICE_NAME_LABEL

# docker-compose.yml's services outside any profile: what a VM and a Swarm run
# (tests/unit/test_deploy_operator_verbs.py keeps the two lists equal).
SERVICES = (
    "alert-sink",
    "alertmanager",
    "grafana",
    "nginx",
    "nginx-exporter",
    "node-exporter",
    "prometheus",
    "redis",
    "redis-exporter",
    "web",
    "worker",
)
SWARM = "swarm"


def check_service(name: str) -> None:
    if name not in SERVICES:
        raise DeployError(f"unknown service {name!r}: the services are {', '.join(SERVICES)}")


def swarm_service(stack: str, service: str) -> str:
    return f"{stack}_{service}"


def running_container_argv(target: str, stack: str, service: str) -> list[str]:
    """The ids of SERVICE's running containers on the SSH host; on Swarm only the tasks Swarm
    placed on that node are there (Redis and Prometheus are, on the node labelled for state)."""
    if target == SWARM:
        labels = [f"{SERVICE_NAME_LABEL}={swarm_service(stack, service)}"]
    else:
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SERVICE_LABEL}={service}"]
    filters = [part for label in labels for part in ("--filter", f"label={label}")]
    return ["docker", "ps", "--quiet", "--filter", "status=running", *filters]


def echo_chunk(chunk: str) -> None:
    """Output from the host as it arrives, partial lines included (a prompt, a slow command)."""
    click.echo(chunk, nl=False)
