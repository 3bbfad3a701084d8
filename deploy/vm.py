"""The VM's Docker engine and compose project, driven over SSH.

Compose runs with the project's own compose file plus an override the tool renders per release
(deploy/layout.py); container state comes from `docker inspect`, parsed by pure functions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deploy import commands
from deploy.commands import SERVICE_LABEL
from deploy.errors import DeployError
from deploy.host import Host
from deploy.layout import Layout


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    service: str
    image: str  # the reference it was created from, e.g. <prefix>/app:<sha>
    image_id: str
    status: str  # created | running | exited | ...
    health: str  # healthy | unhealthy | starting | none
    revision: str
    health_log: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        return self.image.rsplit(":", 1)[-1] if ":" in self.image.rsplit("/", 1)[-1] else ""


def parse_inspect(text: str) -> list[Container]:
    """Containers from `docker inspect` JSON."""
    containers = []
    for raw in json.loads(text or "[]"):
        config: dict[str, Any] = raw.get("Config") or {}
        labels: dict[str, str] = config.get("Labels") or {}
        state: dict[str, Any] = raw.get("State") or {}
        health: dict[str, Any] = state.get("Health") or {}
        log = tuple(
            f"exit {entry.get('ExitCode')}: {str(entry.get('Output', '')).strip()}"
            for entry in health.get("Log") or []
        )
        containers.append(
            Container(
                id=raw["Id"][:12],
                name=str(raw.get("Name", "")).lstrip("/"),
                service=labels.get(SERVICE_LABEL, ""),
                image=str(config.get("Image", "")),
                image_id=str(raw.get("Image", "")),
                status=str(state.get("Status", "")),
                health=str(health.get("Status", "none")),
                revision=labels.get("org.opencontainers.image.revision", ""),
                health_log=log,
            )
        )
    return sorted(containers, key=lambda c: c.name)


class HealthCheckError(DeployError):
    def __init__(self, message: str, containers: Sequence[Container]) -> None:
        super().__init__(message)
        self.containers = list(containers)


class Vm:
    def __init__(self, remote: Host, layout: Layout) -> None:
        self.remote = remote
        self.layout = layout

    def docker(self, *args: str, check: bool = True, timeout: float | None = None) -> str:
        return self.remote.run(["docker", *args], check=check, timeout=timeout).stdout

    def compose(self, sha: str, *args: str, check: bool = True) -> str:
        return self.remote.run(commands.compose(self.layout, sha, *args), check=check).stdout

    def containers(
        self, service: str | None = None, *, include_stopped: bool = False
    ) -> list[Container]:
        argv = commands.container_ids(service, include_stopped=include_stopped)
        return self.inspect(self.remote.run(argv).stdout.split())

    def inspect(self, ids: Sequence[str]) -> list[Container]:
        if not ids:
            return []
        return parse_inspect(self.docker("inspect", *ids))

    def image_layers(self, ref: str) -> list[str] | None:
        result = self.remote.run(commands.image_layers(ref), check=False)
        return list(json.loads(result.stdout)) if result.ok else None

    def wait_healthy(
        self,
        ids: Sequence[str],
        timeout_s: float,
        *,
        on_poll: Callable[[list[Container]], None] | None = None,
    ) -> list[Container]:
        """Until every container is healthy; fails at once when one is unhealthy or has exited."""
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.inspect(ids)
            if on_poll:
                on_poll(current)
            bad = [c for c in current if c.health == "unhealthy" or c.status in ("exited", "dead")]
            if len(current) < len(ids):
                raise HealthCheckError("a new container disappeared while starting", current)
            if bad:
                names = ", ".join(f"{c.name} ({c.status}, {c.health})" for c in bad)
                raise HealthCheckError(f"health check failed: {names}", current)
            if all(c.health == "healthy" for c in current):
                return current
            if time.monotonic() > deadline:
                raise HealthCheckError(f"not healthy within {timeout_s:.0f}s", current)
            time.sleep(1.0)

    def stop(self, containers: Sequence[Container], grace_s: int) -> None:
        if containers:
            ids = [c.id for c in containers]
            self.remote.run(commands.stop(ids, grace_s))
            self.remote.run(commands.remove(ids))

    def remove_now(self, containers: Sequence[Container]) -> None:
        if containers:
            self.remote.run(commands.remove([c.id for c in containers], force=True))
