"""`init-swarm`: make a provisioned VM a Swarm manager that `deploy --target swarm` can use.

Idempotent, and every value stays on the VM: swarm mode (if the engine is not in it yet), the
state label that places Redis and Prometheus on this node, and the stack's Swarm secrets made
from the .env that `provision` generated there.
"""

from __future__ import annotations

import re

from deploy import source
from deploy.config import Config
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.ssh import Remote, command_line
from deploy.stages import Stages
from deploy.swarm_deployer import swarm_layout
from deploy.swarm_stack import SwarmStack

STATE_LABEL = "linkpulse.state=true"
# Swarm secret -> how its value is made from the VM's .env (a sh expression over $(value KEY)):
# each stack secret as linkpulse_<name>, and the URL web and worker reach Redis with.
SECRETS = {
    **{f"linkpulse_{key.lower()}": f'"$(value {key})"' for key in source.SECRETS},
    "linkpulse_redis_url": '"redis://:$(value REDIS_PASSWORD)@redis:6379/0"',
    # Swarm refuses an empty secret: `none` when unset (only a receiver other than the sink
    # reads it, and its start names a key that is not one).
    **{
        f"linkpulse_{key.lower()}": f'"$(value {key} | grep . || echo none)"'
        for key in source.OPERATOR_SECRETS
    },
}


def secrets_script(env_file: str) -> str:
    """Shell that creates each missing secret from ENV_FILE's values; existing ones are kept
    (a service holds the secret it started with: rotating one is docs/scaling.md's procedure)."""
    # The path is set once, quoted, and then only expanded inside double quotes.
    lines = [
        "set -eu",
        f"env_file={command_line([env_file])}",
        'value() { sed -n "s/^$1=//p" "$env_file" | tail -n 1; }',
        '[ -r "$env_file" ] || { echo "no readable $env_file: run provision first" >&2; exit 3; }',
    ]
    for key in source.SECRETS:
        lines.append(
            f'[ -n "$(value {key})" ] || {{ echo "{key} is empty in $env_file" >&2; exit 3; }}'
        )
    for name, expression in SECRETS.items():
        lines.append(
            f"if docker secret inspect {name} >/dev/null 2>&1; then echo '{name}: kept'; "
            f"else printf '%s' {expression} | docker secret create {name} - >/dev/null "
            f"&& echo '{name}: created'; fi"
        )
    return "\n".join(lines) + "\n"


def init_swarm(config: Config, remote: Remote, stages: Stages) -> None:
    stack = SwarmStack(remote, config.swarm.stack)
    with stages.stage(f"connect to {remote.label} (pinned host key)"):
        remote.open()
    with stages.stage("swarm mode"):
        state, manager = stack.node_role()
        if state == "inactive":
            argv = ["docker", "swarm", "init"]
            if config.swarm.advertise_addr:
                argv += ["--advertise-addr", config.swarm.advertise_addr]
            result = remote.run(argv, check=False)
            if not result.ok:
                raise DeployError(f"docker swarm init failed: {result.stderr.strip()[-300:]}")
            stages.note("initialised: this node is the first manager")
        elif state == "active" and manager:
            stages.note("already a manager: left as it is")
        else:
            raise DeployError(
                f"{remote.label} is in swarm state {state!r} without being a manager: "
                "init-swarm runs on a manager"
            )
    with stages.stage(f"label this node {STATE_LABEL} (Redis and Prometheus run here)"):
        node = stack.docker("info", "--format", "{{.Swarm.NodeID}}").strip()
        stack.docker("node", "update", "--label-add", STATE_LABEL, node)
        stages.note(f"node {node[:12]}")
    with stages.stage("Swarm secrets from the VM's .env (values never leave the VM)"):
        result = remote.shell(
            secrets_script(Layout(config.app.remote_dir).secrets_env), check=False
        )
        if not result.ok:
            raise DeployError(f"secrets: {result.stderr.strip()[-300:]}")
        for line in result.stdout.strip().splitlines():
            stages.note(line)
    with stages.stage("release directories"):
        layout = swarm_layout(config)
        remote.run(["mkdir", "-p", layout.releases, layout.bundles])
        stages.note(layout.root)
    join = stack.docker("swarm", "join-token", "worker", check=False).strip().splitlines()
    command = next((line.strip() for line in join if "docker swarm join" in line), "")
    if command:
        hidden = re.sub(r"--token \S+", "--token <token>", command)
        stages.note(f"to add a node, run there: {hidden}")
        stages.note("(the token: `docker swarm join-token worker` on this manager)")
