"""The failure bundle: what a failed deploy leaves for a human, saved on the VM before any
failed container is removed (Kamal users lose exactly this), and copied to the controller."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from deploy.host import Host
from deploy.layout import Layout
from deploy.ssh import command_line
from deploy.vm import Container


class Bundle:
    def __init__(self, remote: Host, layout: Layout, sha: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.remote = remote
        self.path = f"{layout.bundles}/{stamp}-{sha[:12]}"
        self.files: list[str] = []
        self._created = False

    def _ensure(self) -> None:
        if not self._created:
            self.remote.run(["mkdir", "-p", self.path])
            self._created = True

    def write(self, name: str, content: str) -> None:
        self._ensure()
        self.remote.write_file(f"{self.path}/{name}", content)
        self.files.append(name)

    def add_containers(self, containers: list[Container]) -> None:
        """Each container's log and its health check's own answers."""
        self._ensure()
        for container in containers:
            log = f"{self.path}/{container.name}.log"
            self.remote.shell(
                command_line(["docker", "logs", "--timestamps", container.id])
                + f" > {command_line([log])} 2>&1",
                check=False,
            )
            self.files.append(f"{container.name}.log")
            health = {
                "container": container.name,
                "image": container.image,
                "status": container.status,
                "health": container.health,
                "health_check_answers": list(container.health_log),
            }
            self.write(f"{container.name}.health.json", json.dumps(health, indent=2) + "\n")

    @property
    def exists(self) -> bool:
        return self._created

    def fetch(self, local_root: Path) -> Path:
        """Copy the bundle to the controller (CI uploads it as an artifact)."""
        target = local_root / Path(self.path).name
        target.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            self.remote.get(f"{self.path}/{name}", target / name)
        return target
