"""The failure bundle: what a failed deploy leaves for a human, saved on the VM before any
failed container is removed (Kamal users lose exactly this), and copied to the controller."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from deploy.host import Host
from deploy.layout import Layout
from deploy.ssh import command_line
from deploy.vm import Container

# A container's name comes from the VM: only these characters, led by a letter or digit, may name
# a file here or on the controller, so a name such as `../../.ssh/authorized_keys` stays one file.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def file_stem(name: str) -> str:
    """NAME as one harmless file name: unsafe characters become _, and it starts with neither a
    dot nor a dash."""
    stem = _UNSAFE.sub("_", name)[:100]
    return stem if stem[:1].isalnum() else "_" + stem


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
            stem = file_stem(container.name)
            log = f"{self.path}/{stem}.log"
            self.remote.shell(
                command_line(["docker", "logs", "--timestamps", container.id])
                + f" > {command_line([log])} 2>&1",
                check=False,
            )
            self.files.append(f"{stem}.log")
            health = {
                "container": container.name,
                "image": container.image,
                "status": container.status,
                "health": container.health,
                "health_check_answers": list(container.health_log),
            }
            self.write(f"{stem}.health.json", json.dumps(health, indent=2) + "\n")

    @property
    def exists(self) -> bool:
        return self._created

    def fetch(self, local_root: Path) -> Path:
        """Copy the bundle to the controller (CI uploads it as an artifact). Logs can hold
        what users sent, so the folder is its owner's alone (0700), whatever the umask."""
        target = local_root / Path(self.path).name
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.chmod(0o700)
        for name in self.files:
            self.remote.get(f"{self.path}/{name}", target / name)
        return target
