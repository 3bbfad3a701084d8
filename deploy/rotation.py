"""Rotating a secret of the local compose stack without a failed request (docs/operations.md).

    python -m deploy.rotation NAME      (what `make rotate-secret NAME=...` runs)

REDIS_PASSWORD goes in the steps Redis ACLs allow: the default user accepts the new password
beside the old one, web, worker and redis-exporter move onto it, then the new one is all it
accepts. VISITOR_HASH_SALT only needs web to move. GRAFANA_ADMIN_PASSWORD moves no container:
Grafana reads it from the environment only when its database is created, so the new one is set
in that database (Grafana's own CLI, inside the running container) before the env file changes.
The env file compose reads is updated before any container is replaced, so every container
started from then on (now or by a later `make up`) gets the new value.

web moves without a failed request: a new web starts beside each old one; nginx (which resolves
`web` only at start or reload) is reloaded onto one new container's address, and only once its
old workers, the last that can reach an old web, have finished, are the old webs stopped; a last
reload hands nginx back the name `web`, which now resolves to the new containers only.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import DeployError

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where redis requires its password from, and the sha256s of those rotated away (the compose
# file's redis command reads both at start).
REDIS_PASSWORD_FILE = "/data/redis-password"  # noqa: S105 (a path)
REDIS_REPLACED_FILE = "/data/redis-password.replaced"
# Inside the redis container, commands on stdin (never in a process list), as redis requires.
REDIS_CLI = f'REDISCLI_AUTH="$(cat {REDIS_PASSWORD_FILE})" redis-cli'
# Inside the redis container, the new password on stdin: what redis requires after a restart,
# the old one's sha256 marked replaced (as `printf %s PASSWORD | sha256sum` prints it, which the
# compose file's start command compares).
PERSIST_REDIS_PASSWORD = (
    f"umask 077 && sha256sum <{REDIS_PASSWORD_FILE} >>{REDIS_REPLACED_FILE} && "
    f"cat >{REDIS_PASSWORD_FILE}.new && mv {REDIS_PASSWORD_FILE}.new {REDIS_PASSWORD_FILE}"
)
# A redis started before its command wrote this file would come back with the old password
# after a restart: one planned restart (compose recreating it) first.
REDIS_HAS_PASSWORD_FILE = f"test -s {REDIS_PASSWORD_FILE}"
OLD_REDIS = (
    f"redis was started before its password lived in {REDIS_PASSWORD_FILE}, so a restart would "
    "bring the old password back: recreate it once first (a restart of a few seconds)"
)
# Inside the grafana container, the new admin password on stdin: Grafana's CLI writes it into
# Grafana's database, which the server reads at each login (no restart).
RESET_GRAFANA_ADMIN = "grafana cli admin reset-admin-password --password-from-stdin >/dev/null"
# The offline stack leaves Grafana out (docker-compose.offline.yml): nothing holds the password.
NO_GRAFANA = "grafana does not run here (the offline stack leaves it out): no password to rotate"
# An old web gets gunicorn's graceful timeout (web/gunicorn_conf.py) and a margin to finish.
STOP_TIMEOUT_S = 30
NGINX_DRAIN_DEADLINE_S = 60


@dataclass(frozen=True)
class Rotation:
    # Services that read the secret and are replaced onto the new value, in this order.
    services: tuple[str, ...]
    # What a rotation costs beyond its few seconds, said before it starts.
    cost: str


ROTATIONS = {
    "REDIS_PASSWORD": Rotation(
        ("web", "worker", "redis-exporter"),
        "none: Redis accepts both passwords until web, worker and redis-exporter use the new one",
    ),
    "VISITOR_HASH_SALT": Rotation(
        ("web",),
        "unique-visitor counts restart: every returning visitor counts as new once",
    ),
    "GRAFANA_ADMIN_PASSWORD": Rotation(
        (),
        "none: whoever is logged in to Grafana as admin signs in again with the new password",
    ),
}


def unknown_secret(name: str, rotatable: Collection[str] = ROTATIONS) -> str:
    named = f"{name!r} is not a secret this stack rotates" if name else "name a secret"
    return f"rotate-secret: {named}; rotatable: {', '.join(rotatable)} (docs/operations.md)"


def replace_setting(text: str, name: str, value: str) -> str:
    """The env file's text with NAME's line set to VALUE; a file without the line is refused."""
    lines = text.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.startswith(f"{name}=")]
    if len(found) != 1:
        raise DeployError(f"the env file has {len(found)} lines setting {name}, not one")
    ending = "\n" if lines[found[0]].endswith("\n") else ""
    lines[found[0]] = f"{name}={value}{ending}"
    return "".join(lines)


def check_acl_answer(answer: str) -> None:
    if answer.strip() != "OK":
        raise DeployError(f"redis refused ACL SETUSER: {answer.strip()}")


def env_file() -> Path:
    """The env file compose reads: the own project's (COMPOSE_ENV_FILES), else the checkout's."""
    named = os.environ.get("COMPOSE_ENV_FILES", "")
    return Path(named.split(",")[-1]) if named else REPO_ROOT / ".env"


def write_setting(path: Path, name: str, value: str) -> None:
    updated = replace_setting(path.read_text(), name, value)
    temporary = path.with_name(f".{path.name}.rotating")
    temporary.write_text(updated)
    temporary.chmod(0o600)
    temporary.replace(path)


def worker_pids(process_list: str) -> set[str]:
    """nginx's worker processes in `docker top -eo pid,args` (old ones say `is shutting down`)."""
    rows = (line.split(None, 1) for line in process_list.splitlines())
    return {row[0] for row in rows if len(row) == 2 and row[1].startswith("nginx: worker process")}


Runner = Callable[..., str]


def run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        argv, cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise DeployError(f"{' '.join(argv[:4])}: {detail[-1] if detail else result.returncode}")
    return result.stdout


class ComposeStack:
    """The running compose project (COMPOSE_PROJECT_NAME, or the checkout's `make up` stack)."""

    def __init__(self, runner: Runner = run, say: Callable[[str], None] = print) -> None:
        self.run = runner
        self.say = say

    def compose(self, *args: str, stdin: str | None = None) -> str:
        return self.run("docker", "compose", *args, stdin=stdin)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "--quiet", service).split()

    def one(self, service: str) -> str:
        found = self.containers(service)
        if len(found) != 1:
            raise DeployError(f"{service}: {len(found)} running containers, expected one")
        return found[0]

    def redis(self, commands: str) -> str:
        return self.compose("exec", "-T", "redis", "sh", "-c", REDIS_CLI, stdin=commands)

    def acl(self, rules: str) -> None:
        check_acl_answer(self.redis(f"ACL SETUSER default {rules}\n"))

    def require_password_file(self) -> None:
        try:
            self.compose("exec", "-T", "redis", "sh", "-c", REDIS_HAS_PASSWORD_FILE)
        except DeployError as error:
            raise DeployError(f"{OLD_REDIS} (make up does it)") from error

    def running(self, service: str) -> bool:
        try:
            return bool(self.containers(service))
        except DeployError:  # compose: a service of a profile not enabled is no service
            return False

    def reset_grafana(self, new: str) -> None:
        self.compose("exec", "-T", "grafana", "sh", "-c", RESET_GRAFANA_ADMIN, stdin=new)

    def persist_redis_password(self, new: str) -> None:
        self.compose("exec", "-T", "redis", "sh", "-c", PERSIST_REDIS_PASSWORD, stdin=new)

    def nginx_processes(self, nginx: str) -> str:
        return self.run("docker", "top", nginx, "-eo", "pid,args")

    def reload_nginx(self, nginx: str, upstream: str | None) -> None:
        """Point nginx at UPSTREAM (an address; None: the name `web` again), reload, and wait
        until every worker of the old configuration has finished its requests and exited."""
        if upstream is None:
            self.run("docker", "exec", nginx, "render-upstream.sh")
        else:
            conf = f"set $linkpulse_web {upstream};\n"
            write = "cat >/etc/nginx/runtime/web-upstream.conf"
            self.run("docker", "exec", "-i", nginx, "sh", "-c", write, stdin=conf)
        old_workers = worker_pids(self.nginx_processes(nginx))
        self.run("docker", "exec", nginx, "nginx", "-s", "reload")
        deadline = time.monotonic() + NGINX_DRAIN_DEADLINE_S
        while old_workers & worker_pids(self.nginx_processes(nginx)):
            if time.monotonic() > deadline:
                raise DeployError(
                    f"nginx: old workers still running after {NGINX_DRAIN_DEADLINE_S} s"
                )
            time.sleep(0.2)

    def edge_address(self, container: str) -> str:
        each = "{{range $name, $net := .NetworkSettings.Networks}}"
        template = each + "{{$name}} {{$net.IPAddress}}\n{{end}}"
        for line in self.run("docker", "inspect", "--format", template, container).splitlines():
            name, _, address = line.partition(" ")
            # nginx reaches web on edge only: web trusts X-Forwarded-For from its edge address.
            if name.endswith("_edge") and address:
                return address
        raise DeployError(f"web container {container[:12]} has no address on the edge network")

    def replace(self, service: str) -> None:
        """As many new containers of SERVICE (from the env file as it is now) as it runs, healthy,
        then the old ones stopped; for web, nginx is moved first."""
        old = self.containers(service)
        wanted = 2 * len(old) if old else 1
        self.compose(
            "up", "--detach", "--no-deps", "--no-recreate", "--wait", "--wait-timeout", "180",
            "--scale", f"{service}={wanted}", service,
        )  # fmt: skip
        new = [container for container in self.containers(service) if container not in old]
        self.say(f"rotate-secret: {service}: {len(new)} new container(s) healthy")
        nginx = self.one("nginx") if service == "web" else None
        if nginx is not None:
            self.reload_nginx(nginx, f"{self.edge_address(new[0])}:8000")
        if old:
            self.run("docker", "stop", "--time", str(STOP_TIMEOUT_S), *old)
            self.run("docker", "rm", *old)
        if nginx is not None:
            self.reload_nginx(nginx, None)
        self.say(f"rotate-secret: {service}: {len(old)} old container(s) stopped")


def rotate(name: str, stack: ComposeStack, path: Path) -> None:
    rotation = ROTATIONS[name]
    new = secrets.token_hex(24)
    stack.say(f"rotate-secret: {name}: cost: {rotation.cost}")
    if name == "REDIS_PASSWORD":
        stack.acl(f">{new}")
        stack.persist_redis_password(new)
        stack.say("rotate-secret: redis accepts the old and the new password")
    if name == "GRAFANA_ADMIN_PASSWORD":
        stack.reset_grafana(new)
        stack.say("rotate-secret: grafana accepts the new admin password only")
    write_setting(path, name, new)
    stack.say(f"rotate-secret: {path} holds the new {name}")
    for service in rotation.services:
        stack.replace(service)
    if name == "REDIS_PASSWORD":
        stack.acl(f"resetpass >{new}")
        stack.say("rotate-secret: redis accepts the new password only")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ROTATIONS:
        print(unknown_secret(argv[0] if argv else ""), file=sys.stderr)
        return 1
    path = env_file()
    stack = ComposeStack()
    try:
        if not path.is_file():
            raise DeployError(f"no env file at {path}: start the stack with make up")
        stack.one("nginx")
        stack.one("redis")
        if argv[0] == "REDIS_PASSWORD":
            stack.require_password_file()
        if argv[0] == "GRAFANA_ADMIN_PASSWORD" and not stack.running("grafana"):
            raise DeployError(NO_GRAFANA)
        started = time.monotonic()
        rotate(argv[0], stack, path)
    except DeployError as error:
        print(f"rotate-secret: {error}", file=sys.stderr)
        return 1
    print(f"rotate-secret: {argv[0]} rotated in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
