"""`rotate-secret NAME` with --target swarm: versioned Swarm secrets (a Swarm secret never changes).

REDIS_PASSWORD: the new value is made on the manager and never leaves it; linkpulse_redis_password
and linkpulse_redis_url get a new version each (<name>_v2, _v3, ...), Redis accepts the old and the
new password (ACL), every service that mounts one of them is updated onto the new version under
the same file name (web, worker: Swarm's start-first rolling update; redis-exporter), then Redis
accepts the new one only, and each old version no service mounts any more is removed.

Redis itself is not updated: that would restart it. Its task keeps the secret it started with,
which its start command ignores once rotated away (the sha256 in /data/redis-password.replaced),
and that version stays until Redis's next planned restart moves it (docs/operations.md).
A deploy keeps every service on the versions it mounts now (deploy/swarm_secrets.py), so the
next release does not move web back onto a refused password.

GRAFANA_ADMIN_PASSWORD: a new version of linkpulse_grafana_admin_password, the new password set
in Grafana's database inside its running task (Grafana reads the secret only when that database
is created), then Grafana updated onto the new version (a restart of a few seconds) so that a
fresh volume gets the password in use.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from deploy.config import Config
from deploy.containers import SWARM, running_container_argv
from deploy.deployer import LOCK_TTL, actor, remote_for
from deploy.errors import DeployError
from deploy.host import Host
from deploy.lock import DeployLock, LockInfo
from deploy.rotate_vm import check_rotatable, in_container, make_pending, set_acl
from deploy.rotation import PERSIST_REDIS_PASSWORD, RESET_GRAFANA_ADMIN
from deploy.ssh import command_line
from deploy.swarm_deployer import SETTLE_TIMEOUT_S, swarm_layout
from deploy.swarm_secrets import Mounts, running_mounts
from deploy.swarm_stack import WORKING

# Each rotatable setting -> the Swarm secrets made from it (file name -> how its value is made,
# a sh expression over the new value's file $new). As init-swarm makes them.
VERSIONED = {
    "REDIS_PASSWORD": {
        "linkpulse_redis_password": 'cat "$new"',
        "linkpulse_redis_url": "{ printf 'redis://:'; cat \"$new\"; printf '@redis:6379/0'; }",
    },
    "VISITOR_HASH_SALT": {"linkpulse_visitor_hash_salt": 'cat "$new"'},
    "GRAFANA_ADMIN_PASSWORD": {"linkpulse_grafana_admin_password": 'cat "$new"'},
}
# The only service never updated by a rotation (an update restarts it).
KEPT = "redis"
UPDATE_STATE = "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
POLL_S = 1.0


def next_version(existing: set[str], base: str) -> str:
    numbers = [int(m.group(1)) for s in existing if (m := re.fullmatch(rf"{base}_v(\d+)", s))]
    return f"{base}_v{max(numbers, default=1) + 1}"


def moves(mounts: Mounts, new: Mapping[str, str]) -> dict[str, list[str]]:
    """`docker service update` flags per service that mounts a file of NEW (file -> new secret),
    Redis left out."""
    flags: dict[str, list[str]] = {}
    for service, files in sorted(mounts.items()):
        if service == KEPT:
            continue
        for file, secret in sorted(files.items()):
            # A stack deploy of compose's config mounts each at /run/secrets/<name>.
            wanted = new.get(file.rsplit("/", 1)[-1])
            if wanted is not None and secret != wanted:
                flags.setdefault(service, []).extend(
                    ["--secret-rm", secret, "--secret-add", f"source={wanted},target={file}"]
                )
    return flags


class SwarmRotation:
    def __init__(
        self, host: Host, stack: str, root: str, name: str, say: Callable[[str], None]
    ) -> None:
        check_rotatable(name, VERSIONED)
        self.host, self.stack, self.name, self.say = host, stack, name, say
        self.root = root
        self.pending_path = f"{root}/.rotating-{name}"
        self.pending = command_line([self.pending_path])

    def docker(self, *args: str) -> str:
        return self.host.run(["docker", *args]).stdout

    def mounts(self) -> Mounts:
        mounts = running_mounts(self.host, self.stack)
        if not mounts:
            raise DeployError(f"no stack {self.stack!r} on {self.host.label}: nothing to rotate")
        return mounts

    def task(self, service: str) -> str:
        found = self.host.run(running_container_argv(SWARM, self.stack, service)).stdout.split()
        if not found:
            raise DeployError(f"no running {self.stack}_{service} task on {self.host.label}")
        return found[0]

    def settled(self, service: str) -> str:
        """The service's update state once Swarm has finished it: the CLI returns when the tasks
        have converged, while Swarm still watches the last one for update_config's monitor."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            state = self.docker("service", "inspect", "--format", UPDATE_STATE, service).strip()
            if state not in WORKING:
                return state
            if time.monotonic() > deadline:
                raise DeployError(f"{service}: Swarm did not finish its update in time: {state}")
            time.sleep(POLL_S)

    def run(self) -> None:
        mounts = self.mounts()
        redis = self.task("redis") if self.name == "REDIS_PASSWORD" else ""
        grafana = self.task("grafana") if self.name == "GRAFANA_ADMIN_PASSWORD" else ""
        existing = set(self.docker("secret", "ls", "--format", "{{.Name}}").split())
        new = {file: next_version(existing, file) for file in VERSIONED[self.name]}
        self.host.run(["mkdir", "-p", self.root])
        make_pending(self.host, self.pending)
        for file, expression in VERSIONED[self.name].items():
            self.host.shell(
                f"new={self.pending}; {expression} | docker secret create {new[file]} - >/dev/null"
            )
            self.say(f"{new[file]}: created")
        if redis:
            set_acl(self.host, redis, self.pending, ">")
            in_container(self.host, redis, PERSIST_REDIS_PASSWORD, f"cat {self.pending}")
            self.say("redis accepts the old and the new password")
        if grafana:
            in_container(self.host, grafana, RESET_GRAFANA_ADMIN, f"cat {self.pending}")
            self.say("grafana accepts the new admin password only")
        for service, flags in moves(mounts, new).items():
            full = f"{self.stack}_{service}"
            self.docker("service", "update", "--detach=false", "--quiet", *flags, full)
            state = self.settled(full)
            if state not in ("", "completed"):
                raise DeployError(f"{full}: Swarm's update onto {self.name}'s new version: {state}")
            self.say(f"{service}: on the new version")
        if redis:
            set_acl(self.host, redis, self.pending, "resetpass >")
            self.say("redis accepts the new password only")
        self.host.run(["rm", "-f", self.pending_path])
        in_use = {s for files in self.mounts().values() for s in files.values()}
        for old in sorted({s for files in mounts.values() for s in files.values()} - in_use):
            self.docker("secret", "rm", old)
            self.say(f"{old}: removed")
        for old in sorted(in_use - set(new.values())):
            if any(old.startswith(file) for file in new):
                self.say(f"{old}: kept while {KEPT} mounts it (until its next planned restart)")


def rotate(config: Config, name: str, say: Callable[[str], None]) -> None:
    """The rotation on the Swarm manager [host] names, under the Swarm target's deploy lock."""
    root = swarm_layout(config).root
    with remote_for(config) as remote:
        lock = DeployLock(remote, root)
        lock.acquire(LockInfo.new(actor(), f"rotate-secret {name}", datetime.now(UTC), LOCK_TTL))
        try:
            SwarmRotation(remote, config.swarm.stack, root, name, say).run()
        finally:
            lock.release()
