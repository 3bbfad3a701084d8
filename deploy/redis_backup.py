"""`backup` and `restore` for the VM: the backup package's flows on the VM's Redis, over SSH.

The RDB travels as a file (docker cp, then SFTP): command output is text here. A restore
stops web, worker and Redis, installs the RDB into Redis's volume from a one-off container of
Redis's own image and user, and starts the same containers again: no release changes.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from backup.snapshot import (
    INSTALL_SCRIPT,
    BackupError,
    Contents,
    RedisHost,
    read_backup,
    restore_backup,
    take_backup,
)
from deploy.deployer import LOCK_TTL, actor
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.lock import DeployLock, LockInfo
from deploy.redis_auth import redis_cli
from deploy.ssh import Remote, command_line
from deploy.vm import Container, Vm

# Writers are stopped with the grace compose gives them, so a batch in flight is finished.
STOP_GRACE_S = 30
HEALTHY_WITHIN_S = 180.0
# The data volume's name and the user Redis runs as: the install runs as that user on it.
VOLUME_AND_USER = (
    '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}} {{.Config.User}}'
)


class VmRedis:
    """The running Redis of the VM's compose project (backup.snapshot.RedisHost)."""

    def __init__(self, remote: Remote, layout: Layout) -> None:
        self.remote = remote
        self.layout = layout
        self.vm = Vm(remote, layout)
        running = [c for c in self.vm.containers("redis") if c.status == "running"]
        if not running:
            raise DeployError("no running redis on the VM: deploy a release first")
        self.redis = running[0]

    def cli(self, *args: str) -> str:
        return self.vm.docker("exec", self.redis.id, *redis_cli(*args))

    def read_dump(self) -> bytes:
        copy = f"{self.layout.root}/backup.rdb.partial"
        self.vm.docker("cp", f"{self.redis.id}:/data/dump.rdb", copy)
        try:
            with tempfile.TemporaryDirectory() as directory:
                local = Path(directory) / "dump.rdb"
                self.remote.get(copy, local)
                return local.read_bytes()
        finally:
            self.remote.run(["rm", "-f", copy])

    def replace_data(self, rdb: bytes) -> None:
        upload = f"{self.layout.root}/restore.rdb"
        with tempfile.TemporaryDirectory() as directory:
            local = Path(directory) / "restore.rdb"
            local.write_bytes(rdb)
            self.remote.put(local, upload)
        volume, user = self._data_volume_and_user()
        writers = self._running("web") + self._running("worker")
        if writers:
            self.vm.docker("stop", "--time", str(STOP_GRACE_S), *[c.id for c in writers])
        self.vm.docker("stop", "--time", str(STOP_GRACE_S), self.redis.id)
        install = command_line(
            ["docker", "run", "--rm", "-i", "--user", user, "--volume", f"{volume}:/data",
             "--workdir", "/data", "--network", "none", "--entrypoint", "sh", self.redis.image,
             "-c", INSTALL_SCRIPT]
        )  # fmt: skip
        self.remote.shell(f"{install} <{shlex.quote(upload)}")
        self.remote.run(["rm", "-f", upload])
        self.vm.docker("start", self.redis.id)
        self.vm.wait_healthy([self.redis.id], HEALTHY_WITHIN_S)
        if writers:
            self.vm.docker("start", *[c.id for c in writers])
            self.vm.wait_healthy([c.id for c in writers], HEALTHY_WITHIN_S)
        # nginx resolved web's names when it last loaded its upstream; a started container may
        # have come back on another address.
        for nginx in self._running("nginx"):
            self.vm.docker("exec", nginx.id, "nginx", "-s", "reload")

    def release(self) -> str:
        return self.remote.run(["cat", self.layout.current], check=False).stdout.strip()

    def _running(self, service: str) -> list[Container]:
        return [c for c in self.vm.containers(service) if c.status == "running"]

    def _data_volume_and_user(self) -> tuple[str, str]:
        answer = self.vm.docker("inspect", "--format", VOLUME_AND_USER, self.redis.id).split()
        if len(answer) != 2:
            raise DeployError(f"redis {self.redis.name}: no named /data volume and user: {answer}")
        return answer[0], answer[1]


# The Redis a backup reads and a restore replaces: the VM's compose project, or a Swarm stack's.
HostFactory = Callable[[Remote, Layout], RedisHost]


def backup(remote: Remote, layout: Layout, directory: Path, host: HostFactory = VmRedis) -> Path:
    """A backup of the VM's (or the HOST's) Redis in DIRECTORY on this machine."""
    try:
        with remote:
            return take_backup(host(remote, layout), directory, datetime.now(UTC))
    except BackupError as error:
        raise DeployError(f"backup: {error}") from error


def restore(
    remote: Remote, layout: Layout, path: Path, *, force: bool, host: HostFactory = VmRedis
) -> Contents:
    """The VM's Redis replaced by the backup in PATH (checked before the VM is reached), under
    the deploy lock: a deploy meanwhile would start web against a Redis being replaced."""
    try:
        rdb = read_backup(path)
        with remote:
            lock = DeployLock(remote, layout.root)
            lock.acquire(LockInfo.new(actor(), "restore", datetime.now(UTC), LOCK_TTL))
            try:
                return restore_backup(host(remote, layout), rdb, force=force)
            finally:
                lock.release()
    except BackupError as error:
        raise DeployError(f"restore: {error}") from error
