"""Which version of each Swarm secret the stack's services mount, and a stack file that keeps
them there: `rotate-secret --target swarm` moves services onto <name>_v2, _v3 ... (a Swarm secret
never changes), and a deploy after it must neither move them back onto a refused password nor
change Redis's spec (which would restart it).
"""

from __future__ import annotations

from typing import Any

from deploy.host import Host
from deploy.swarm_stack import NAMESPACE_LABEL

SECRETS_FORMAT = (
    "{{.Spec.Name}}{{range .Spec.TaskTemplate.ContainerSpec.Secrets}} "
    "{{.File.Name}}={{.SecretName}}{{end}}"
)

Mounts = dict[str, dict[str, str]]  # service (stack's own name) -> file name -> secret name


def parse_mounts(text: str, stack: str) -> Mounts:
    """SECRETS_FORMAT's lines as service -> {file name: secret}."""
    mounts: Mounts = {}
    for line in text.splitlines():
        name, *pairs = line.split()
        if name.startswith(f"{stack}_"):
            mounts[name.removeprefix(f"{stack}_")] = dict(p.split("=", 1) for p in pairs)
    return mounts


def running_mounts(host: Host, stack: str) -> Mounts:
    """What each running service of STACK mounts; empty before the stack's first deploy."""
    listed = host.run(
        ["docker", "service", "ls", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={stack}"]
    ).stdout.split()
    if not listed:
        return {}
    inspect = ["docker", "service", "inspect", "--format", SECRETS_FORMAT, *listed]
    return parse_mounts(host.run(inspect).stdout, stack)


def pin_secrets(stack: dict[str, Any], mounts: Mounts) -> dict[str, Any]:
    """The stack file with each service's secrets named as the running service mounts them (a
    rotation moved it onto a later version): a deploy then changes no secret of any service."""
    top = dict(stack.get("secrets", {}))
    services = {}
    for name, service in stack["services"].items():
        entries = []
        for entry in service.get("secrets", []):
            key = entry if isinstance(entry, str) else entry["source"]
            file = key if isinstance(entry, str) else entry.get("target", key)
            running = mounts.get(name, {}).get(file, key)
            if running != key:
                top[running] = {"external": True, "name": running}
            entries.append(entry if running == key else {"source": running, "target": file})
        services[name] = {**service, "secrets": entries} if entries else service
    return {**stack, "services": services, "secrets": top}
