"""Turn `docker compose config` of the base file plus docker-compose.swarm.yml into a stack file.

`docker stack deploy` reads the Compose file format 3 schema, which is stricter than Compose's
own: it refuses a few things the compose path needs (depends_on conditions, build sections,
numbers for cpus) and ignores others silently (tmpfs). Rendering keeps one stack definition:
only these mechanical differences are made here, everything that is a decision lives in the
overlay file.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Compose-only service keys: Swarm orders nothing by health (each service retries its
# dependencies), builds nothing, pulls by itself, and restarts by deploy.restart_policy.
COMPOSE_ONLY_KEYS = ("build", "depends_on", "pull_policy", "restart", "profiles")

Service = dict[str, Any]


def compose_config(
    compose_files: Sequence[Path],
    env_file: Path | None,
    cwd: Path,
    settings: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The merged, interpolated stack as `docker compose config` resolves it (profiles applied).

    SETTINGS override the env file's values, as variables set in the environment do.
    """
    command = ["docker", "compose"]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    for path in compose_files:
        command += ["-f", str(path)]
    command += ["config", "--format", "json"]
    environ = {**os.environ, **(settings or {})}
    environ.pop("COMPOSE_FILE", None)
    result = subprocess.run(
        command, cwd=cwd, env=environ, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no output"]
        raise RenderError(f"docker compose config failed: {lines[-1]}")
    config: dict[str, Any] = json.loads(result.stdout)
    return config


class RenderError(Exception):
    """The stack cannot be rendered; str() is one line saying why."""


def _tmpfs_volume(entry: str) -> dict[str, Any]:
    """'/tmp:size=64m' as a tmpfs mount, the only form `docker stack deploy` applies."""
    target, _, options = entry.partition(":")
    mount: dict[str, Any] = {"type": "tmpfs", "target": target}
    for option in filter(None, options.split(",")):
        name, _, value = option.partition("=")
        if name != "size":
            raise RenderError(f"tmpfs option {option!r} of {target} is not supported on Swarm")
        mount["tmpfs"] = {"size": _bytes(value)}
    return mount


def _bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    suffix = size[-1:].lower()
    if suffix in units and size[:-1].isdigit():
        return int(size[:-1]) * units[suffix]
    if size.isdigit():
        return int(size)
    raise RenderError(f"tmpfs size {size!r} is not a size like 64m")


def _stringify_cpus(deploy: dict[str, Any]) -> None:
    for section in ("limits", "reservations"):
        resources = deploy.get("resources", {}).get(section)
        if resources and "cpus" in resources:
            resources["cpus"] = str(resources["cpus"])


def stack_service(service: Mapping[str, Any], image: str) -> Service:
    """One service of the compose config, in the form `docker stack deploy` takes."""
    rendered: Service = {
        key: value
        for key, value in service.items()
        if key not in COMPOSE_ONLY_KEYS and value is not None
    }
    rendered["image"] = image
    tmpfs = rendered.pop("tmpfs", [])
    if tmpfs:
        rendered["volumes"] = [*rendered.get("volumes", []), *map(_tmpfs_volume, tmpfs)]
    # compose writes published ports as strings; the stack schema wants numbers.
    for port in rendered.get("ports", []):
        if "published" in port:
            port["published"] = int(port["published"])
    deploy = rendered.get("deploy")
    if deploy:
        _stringify_cpus(deploy)
        if not deploy.get("placement"):
            deploy.pop("placement", None)
    return rendered


def stack_file(config: Mapping[str, Any], image_for: Callable[[str], str]) -> dict[str, Any]:
    """The whole stack file; image_for maps each configured image to the reference to deploy."""
    services = {
        name: stack_service(service, image_for(service["image"]))
        for name, service in config["services"].items()
    }
    used_networks = {net for service in services.values() for net in service.get("networks", {})}
    # Only the secrets a deployed service uses must exist (Grafana's, say, only where it runs).
    used_secrets = {
        secret["source"] for service in services.values() for secret in service.get("secrets", [])
    }
    return {
        "version": "3.9",
        "services": services,
        "networks": {
            name: _unnamed(network)
            for name, network in config.get("networks", {}).items()
            if name in used_networks
        },
        "volumes": {name: _unnamed(volume) for name, volume in config.get("volumes", {}).items()},
        "secrets": {
            name: secret
            for name, secret in config.get("secrets", {}).items()
            if name in used_secrets
        },
    }


def _unnamed(resource: Mapping[str, Any] | None) -> dict[str, Any]:
    """Without compose's project-prefixed name: the stack prefixes its own (stack_edge), so a
    compose project on the same engine keeps its networks and volumes."""
    return {key: value for key, value in (resource or {}).items() if key != "name"}
