"""`exec SERVICE -- CMD`: run a command in one running container of a service, on the SSH host.

`redis-cli` gets Redis's password inside the container (deploy/redis_auth.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from deploy.containers import SWARM, check_service, echo_chunk, running_container_argv
from deploy.deployer import remote_for
from deploy.errors import DeployError
from deploy.redis_auth import redis_cli

if TYPE_CHECKING:
    from deploy.cli import Context


def in_container(command: Sequence[str]) -> list[str]:
    """What runs in the container for COMMAND (checked before anything connects)."""
    if not command:
        raise DeployError("exec needs a command after --, e.g. exec redis -- redis-cli PING")
    if command[0] == "redis-cli":
        return redis_cli(*command[1:])
    return list(command)


def exec_argv(container: str, command: Sequence[str]) -> list[str]:
    return ["docker", "exec", container, *in_container(command)]


def pick_container(ps_output: str, service: str, host: str, target: str) -> str:
    """The first id `docker ps --quiet` listed, or why there is none."""
    ids = ps_output.split()
    if ids:
        return ids[0]
    where = (
        "Swarm placed none of its tasks on this node (`python -m deploy --target swarm ps "
        f"{service}` shows where they run)"
        if target == SWARM
        else "`python -m deploy ps` shows its state"
    )
    raise DeployError(f"no running {service} container on {host}: {where}")


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def exec_command(context: Context, service: str, command: tuple[str, ...]) -> None:
    """Run COMMAND (after --) in a running container of SERVICE, e.g. redis -- redis-cli PING."""
    check_service(service)
    in_container(command)
    config = context.config()
    with remote_for(config) as remote:
        found = remote.run(running_container_argv(context.target, config.swarm.stack, service))
        container = pick_container(found.stdout, service, remote.label, context.target)
        status = remote.stream(exec_argv(container, command), echo_chunk)
    if status:
        raise SystemExit(status)
