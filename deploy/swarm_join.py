"""`join`: add a provisioned VM to the Swarm whose first manager is [host] (`init-swarm`).

The join token never reaches this machine's output or a file: it is read on the manager and
passed on the new node's command line only (both over SSH). A node already in a swarm is left
as it is, so the verb can run again.
"""

from __future__ import annotations

from deploy.config import Config
from deploy.errors import DeployError
from deploy.ssh import Remote
from deploy.stages import Stages
from deploy.swarm_stack import SwarmStack

# Swarm's cluster management port on the managers (TCP 2377, docs/scaling.md).
MANAGER_PORT = 2377
ROLES = ("manager", "worker")


def token_argv(role: str) -> list[str]:
    return ["docker", "swarm", "join-token", "--quiet", role]


def manager_address_argv() -> list[str]:
    return ["docker", "info", "--format", "{{.Swarm.NodeAddr}}"]


def join_argv(token: str, manager_address: str) -> list[str]:
    return ["docker", "swarm", "join", "--token", token, f"{manager_address}:{MANAGER_PORT}"]


def join_swarm(config: Config, manager: Remote, node: Remote, role: str, stages: Stages) -> None:
    if role not in ROLES:
        raise DeployError(f"role {role!r}: one of {', '.join(ROLES)}")
    with stages.stage(f"the join token of {manager.label}"):
        state, is_manager = SwarmStack(manager, config.swarm.stack).node_role()
        if state != "active" or not is_manager:
            raise DeployError(
                f"{manager.label} is not a Swarm manager: run `python -m deploy init-swarm` first"
            )
        token = manager.run(token_argv(role)).stdout.strip()
        address = config.swarm.advertise_addr or manager.run(manager_address_argv()).stdout.strip()
        stages.note(f"manager at {address}:{MANAGER_PORT}")
    with stages.stage(f"{node.label} joins as a {role}"):
        state, _ = SwarmStack(node, config.swarm.stack).node_role()
        if state != "inactive":
            stages.note(f"already in swarm state {state!r}: left as it is")
            return
        result = node.run(join_argv(token, address), check=False)
        if not result.ok:
            # Docker's message, never the command line (it holds the token).
            raise DeployError(f"docker swarm join failed: {result.stderr.strip()[-300:]}")
        stages.note(result.stdout.strip() or "joined")
