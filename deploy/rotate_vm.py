"""`rotate-secret NAME` on a deployed VM: the local stack's steps (deploy/rotation.py) with the
deploy tool's own switches of web and worker (deploy/rollout.py), under the deploy lock.

The new value is made on the VM and never leaves it: <root>/.rotating-NAME holds it until the
rotation has finished, so a rotation that stopped midway, run again, finishes with that value.
"""

from __future__ import annotations

from collections.abc import Collection

from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.host import Host
from deploy.rotation import (
    OLD_REDIS,
    PERSIST_REDIS_PASSWORD,
    REDIS_CLI,
    REDIS_HAS_PASSWORD_FILE,
    RESET_GRAFANA_ADMIN,
    ROTATIONS,
    check_acl_answer,
    unknown_secret,
)
from deploy.ssh import command_line
from deploy.supplied_secrets import SUPPLIED


def make_pending(host: Host, pending: str) -> None:
    """The new value in the file PENDING (quoted) on the host, unless a stopped run left one."""
    host.shell(
        f"umask 077 && {{ test -s {pending} || "
        f"head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n' >{pending}; }}"
    )


def in_container(host: Host, container: str, script: str, stdin: str) -> str:
    """SCRIPT inside CONTAINER, fed STDIN (a shell pipeline on the host, the new value from its
    file: it never crosses the SSH connection)."""
    inside = command_line(["docker", "exec", "-i", container, "sh", "-c", script])
    return host.shell(f"{stdin} | {inside}").stdout


def set_acl(host: Host, redis: str, pending: str, rules: str) -> None:
    """ACL SETUSER default RULES followed by the new value from PENDING."""
    commands = f"{{ printf '%s' 'ACL SETUSER default {rules}'; cat {pending}; echo; }}"
    check_acl_answer(in_container(host, redis, REDIS_CLI, commands))


def check_rotatable(name: str, rotatable: Collection[str] = (*ROTATIONS, *SUPPLIED)) -> None:
    """Before anything connects: an unknown name is one line, and nothing changes."""
    if name not in rotatable:
        raise DeployError(unknown_secret(name, rotatable).removeprefix("rotate-secret: "))


class VmRotation:
    def __init__(self, deployer: Deployer, name: str) -> None:
        check_rotatable(name, ROTATIONS)
        self.deployer = deployer
        self.name = name
        self.remote = deployer.remote
        self.pending = command_line([f"{deployer.layout.root}/.rotating-{name}"])

    def container(self, service: str) -> str:
        running = self.deployer.vm.containers(service)
        if len(running) != 1:
            raise DeployError(
                f"{service}: {len(running)} running containers on the VM, expected one"
            )
        return running[0].id

    def redis_container(self) -> str:
        redis = self.container("redis")
        check = command_line(["docker", "exec", redis, "sh", "-c", REDIS_HAS_PASSWORD_FILE])
        if not self.remote.shell(check, check=False).ok:
            raise DeployError(OLD_REDIS)
        return redis

    def write_env(self) -> None:
        env = command_line([self.deployer.layout.secrets_env])
        if self.remote.shell(f"grep -c '^{self.name}=' {env}", check=False).stdout.strip() != "1":
            raise DeployError(f"{self.deployer.layout.secrets_env} has no single {self.name} line")
        self.remote.shell(f'sed -i "s|^{self.name}=.*|{self.name}=$(cat {self.pending})|" {env}')

    def run(self) -> None:
        sha = self.deployer.current()
        if sha is None:
            raise DeployError("nothing is deployed on the VM yet: no secret in use to rotate")
        redis = self.redis_container() if self.name == "REDIS_PASSWORD" else ""
        grafana = self.container("grafana") if self.name == "GRAFANA_ADMIN_PASSWORD" else ""
        stages, rollout = self.deployer.stages, self.deployer.rollout
        with self.deployer.locked(f"rotate-secret {self.name}"):
            stages.note(f"{self.name}: cost: {ROTATIONS[self.name].cost}")
            make_pending(self.remote, self.pending)
            if redis:
                set_acl(self.remote, redis, self.pending, ">")
                in_container(self.remote, redis, PERSIST_REDIS_PASSWORD, f"cat {self.pending}")
                stages.note("redis accepts the old and the new password")
            if grafana:
                in_container(self.remote, grafana, RESET_GRAFANA_ADMIN, f"cat {self.pending}")
                stages.note("grafana accepts the new admin password only")
            self.write_env()
            stages.note(f"{self.deployer.layout.secrets_env} holds the new {self.name}")
            for service in ROTATIONS[self.name].services:
                if service == "web":
                    rollout.switch_web(sha)
                elif service == "worker":
                    rollout.switch_worker(sha)
                else:
                    self.deployer.vm.compose(sha, "up", "--detach", "--no-deps", "--wait", service)
            if redis:
                set_acl(self.remote, redis, self.pending, "resetpass >")
                stages.note("redis accepts the new password only")
            self.remote.shell(f"rm -f {self.pending}")
