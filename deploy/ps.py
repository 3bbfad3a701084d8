"""`ps [SERVICE...]`: the containers (VM) or tasks (Swarm) and their state, as Docker lists them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from deploy.commands import PROJECT
from deploy.containers import SWARM, check_service, echo_chunk, swarm_service
from deploy.deployer import remote_for

if TYPE_CHECKING:
    from deploy.cli import Context

VM_FORMAT = "table {{.Service}}\t{{.Name}}\t{{.Image}}\t{{.Status}}"
SWARM_FORMAT = "table {{.Name}}\t{{.Image}}\t{{.Node}}\t{{.CurrentState}}\t{{.Error}}"


def ps_argv(target: str, stack: str, services: Sequence[str]) -> list[str]:
    if target == SWARM:
        # Tasks Swarm wants running: the history of replaced ones would bury them.
        running = ["--filter", "desired-state=running", "--format", SWARM_FORMAT]
        if services:
            return [
                "docker",
                "service",
                "ps",
                *running,
                *(swarm_service(stack, s) for s in services),
            ]
        return ["docker", "stack", "ps", *running, stack]
    # Compose finds the project's containers by its label: no compose file is needed on the VM.
    return ["docker", "compose", "-p", PROJECT, "ps", "--all", "--format", VM_FORMAT, *services]


@click.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def ps(context: Context, services: tuple[str, ...]) -> None:
    """The services' containers (VM) or tasks (Swarm) and their state."""
    for service in services:
        check_service(service)
    config = context.config()
    argv = ps_argv(context.target, config.swarm.stack, services)
    with remote_for(config) as remote:
        status = remote.stream(argv, echo_chunk)
    if status:
        raise SystemExit(status)
