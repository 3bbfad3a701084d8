"""`backup` and `restore` with --target swarm: the Redis task of the stack, reached through the
manager the SSH connection goes to (the node labelled for state, where Redis runs).

The RDB crosses the connection as base64 text (command output and input are text here, and a
Swarm node need not allow SFTP into the task's volume). A restore scales web and worker to 0, then
Redis, installs the RDB into Redis's volume from a one-off container of Redis's own image and
user, and scales them back: Swarm waits for each task's health check before it counts it running.
"""

from __future__ import annotations

import base64
import binascii

from backup.snapshot import INSTALL_SCRIPT
from deploy.containers import SWARM, running_container_argv, swarm_service
from deploy.errors import DeployError
from deploy.host import Host
from deploy.redis_auth import redis_cli
from deploy.swarm_stack import image_tag

# The install, fed base64 on stdin: decoded, then INSTALL_SCRIPT (passed as $0) reads the RDB.
INSTALL = 'base64 -d | sh -c "$0"'
VOLUME_AND_USER = (
    '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}} {{.Config.User}} '
    "{{.Config.Image}}"
)
WRITERS = ("web", "worker")


class SwarmRedis:
    """The stack's running Redis task on the SSH host (backup.snapshot.RedisHost)."""

    def __init__(self, host: Host, stack: str) -> None:
        self.host = host
        self.stack = stack
        found = host.run(running_container_argv(SWARM, stack, "redis")).stdout.split()
        if not found:
            raise DeployError(
                f"no running {swarm_service(stack, 'redis')} task on {host.label}: Redis runs on "
                "the node labelled linkpulse.state=true, and [host] must name that node"
            )
        self.container = found[0]

    def docker(self, *args: str, stdin: str | None = None) -> str:
        return self.host.run(["docker", *args], stdin=stdin).stdout

    def cli(self, *args: str) -> str:
        return self.docker("exec", self.container, *redis_cli(*args))

    def read_dump(self) -> bytes:
        text = self.docker("exec", self.container, "base64", "/data/dump.rdb")
        try:
            return base64.b64decode(text)
        except binascii.Error as error:
            raise DeployError(
                f"the dump read from the Redis task is not base64: {error}"
            ) from error

    def replace_data(self, rdb: bytes) -> None:
        answer = self.docker("inspect", "--format", VOLUME_AND_USER, self.container).split()
        if len(answer) != 3:
            raise DeployError(f"redis task: no named /data volume, user and image: {answer}")
        volume, user, image = answer
        replicas = {service: self._replicas(service) for service in WRITERS}
        self._scale(dict.fromkeys(WRITERS, 0))
        self._scale({"redis": 0})
        self.docker(
            "run", "--rm", "--interactive", "--user", user, "--volume", f"{volume}:/data",
            "--workdir", "/data", "--network", "none", "--entrypoint", "sh", image,
            "-c", INSTALL, INSTALL_SCRIPT,
            stdin=base64.b64encode(rdb).decode(),
        )  # fmt: skip
        self._scale({"redis": 1})
        self._scale(replicas)
        self.container = self.host.run(
            running_container_argv(SWARM, self.stack, "redis")
        ).stdout.split()[0]

    def release(self) -> str:
        image = self.docker(
            "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            swarm_service(self.stack, "web"),
        )  # fmt: skip
        return image_tag(image.strip())

    def _replicas(self, service: str) -> int:
        text = self.docker(
            "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}",
            swarm_service(self.stack, service),
        )  # fmt: skip
        return int(text.strip() or 0)

    def _scale(self, replicas: dict[str, int]) -> None:
        """Swarm's own wait: every task running (healthy, for a service with a health check)."""
        pairs = [f"{swarm_service(self.stack, name)}={count}" for name, count in replicas.items()]
        self.docker("service", "scale", "--detach=false", *pairs)
