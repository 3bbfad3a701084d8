"""A planned restart of Redis onto its release's image and settings: how a Redis image bump (or a
Redis setting that CONFIG SET cannot change) reaches a running stack, which deploys never do.

    make upgrade-redis                  the local stack (python -m deploy.redis_upgrade)
    python -m deploy upgrade-redis      the deployed VM, under the deploy lock

Compose recreates the container on the same volume: SIGTERM makes Redis write and fsync its AOF
before it exits (every acknowledged write is in it, appendfsync everysec or not), and the new
server loads it before it answers. Refused when AOF is off, since then a restart would lose the
writes since the last snapshot. Meanwhile web answers 503 to what needs Redis and the worker
waits; the gap is measured from the recreate to the new server's first answer and printed.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import click

from deploy import redis_auth
from deploy.deployer import Deployer, actor, remote_for
from deploy.errors import DeployError
from deploy.history import OK, Record
from deploy.release_settings import redis_cli
from deploy.vm import Container

if TYPE_CHECKING:
    from deploy.cli import Context as CliContext

DEADLINE_S = 180.0
NO_AOF = (
    "redis runs without AOF (appendonly is not yes): a restart would lose every write since its "
    "last snapshot; refusing"
)


class RedisSide(Protocol):
    """One stack's Redis: its running container, and compose to recreate it."""

    def cli(self, *args: str) -> str:
        """redis-cli's answer; "" while no server answers."""

    def image(self) -> str: ...

    def recreate(self) -> None: ...


@dataclass(frozen=True)
class Restart:
    image_before: str
    image_after: str
    keys_before: int
    keys_after: int
    gap_s: float

    def lines(self) -> list[str]:
        image = (
            f"image {self.image_before} (unchanged)"
            if self.image_before == self.image_after
            else f"image {self.image_before} -> {self.image_after}"
        )
        return [
            f"redis: {image}",
            f"redis: {self.keys_before} keys before, {self.keys_after} after (AOF reloaded)",
            f"redis: answered again {self.gap_s:.1f}s after the restart began",
        ]


def restart(
    side: RedisSide, note: Callable[[str], None], clock: Callable[[], float] = time.monotonic
) -> Restart:
    appendonly = side.cli("CONFIG", "GET", "appendonly").split()
    if not appendonly:
        raise DeployError("redis does not answer: nothing to upgrade (`ps` shows its state)")
    if appendonly[-1:] != ["yes"]:
        raise DeployError(NO_AOF)
    keys_before, image_before = _keys(side), side.image()
    note(f"redis: {keys_before} keys, {image_before}: recreating it (SIGTERM writes its AOF)")
    started = clock()
    side.recreate()
    # DBSIZE, not PING: a server still loading its AOF answers LOADING to both, and the count
    # is the first thing wanted from it.
    while not side.cli("DBSIZE").strip().isdigit():
        if clock() - started > DEADLINE_S:
            raise DeployError(f"redis did not answer within {DEADLINE_S:.0f}s of its restart")
        time.sleep(0.05)
    gap = clock() - started
    done = Restart(image_before, side.image(), keys_before, _keys(side), gap)
    for line in done.lines():
        note(line)
    return done


def _keys(side: RedisSide) -> int:
    answer = side.cli("DBSIZE").strip()
    if not answer.isdigit():
        raise DeployError(f"redis DBSIZE answered {answer!r}")
    return int(answer)


# --- the local stack -------------------------------------------------------------------------
def _run(argv: list[str], *, check: bool = True) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=DEADLINE_S)
    if check and done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines() or ["(no output)"]
        raise DeployError(f"{shlex.join(argv[:5])}: {lines[-1]}")
    return done.stdout if done.returncode == 0 else ""


class ComposeSide:
    """The stack `docker compose` finds from here (.env, or a test tier's own project)."""

    def cli(self, *args: str) -> str:
        return _run(
            ["docker", "compose", "exec", "-T", "redis", *redis_auth.redis_cli(*args)],
            check=False,
        )

    def image(self) -> str:
        ids = _run(["docker", "compose", "ps", "--quiet", "redis"]).split()
        if len(ids) != 1:
            raise DeployError(f"{len(ids)} running redis containers, expected one (make up)")
        return _run(["docker", "inspect", "--format", "{{.Config.Image}}", ids[0]]).strip()

    def recreate(self) -> None:
        _run(["docker", "compose", "up", "--detach", "--no-deps", "--force-recreate", "redis"])


@click.command()
def main() -> None:
    """Recreate the local stack's Redis onto the image and settings the env file names."""
    try:
        restart(ComposeSide(), click.echo)
    except DeployError as error:
        click.echo(f"upgrade-redis: {error}", err=True)
        sys.exit(1)


# --- the VM ----------------------------------------------------------------------------------
class VmSide:
    def __init__(self, deployer: Deployer, sha: str) -> None:
        self.deployer = deployer
        self.sha = sha

    def _running(self) -> list[Container]:
        return self.deployer.vm.containers("redis")

    def cli(self, *args: str) -> str:
        running = self._running()
        if len(running) != 1:
            return ""
        answer = self.deployer.remote.run(redis_cli(running[0].id, *args), check=False)
        return answer.stdout if answer.ok else ""

    def image(self) -> str:
        running = self._running()
        if len(running) != 1:
            raise DeployError(f"{len(running)} running redis containers on the VM, expected one")
        return running[0].image

    def recreate(self) -> None:
        self.deployer.vm.compose(
            self.sha, "up", "--detach", "--no-deps", "--force-recreate", "redis"
        )


def upgrade_on_vm(deployer: Deployer) -> Restart:
    """Under the deploy lock, onto what the serving release names; a line in history."""
    deployer.remote.open()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with deployer.locked("upgrade-redis"):
        sha = deployer.current()
        if sha is None:
            raise DeployError("nothing is deployed on the VM yet: no Redis to upgrade")
        done = restart(VmSide(deployer, sha), deployer.stages.note)
        change = f"{done.image_before} -> {done.image_after}, {done.keys_after} keys"
        record = Record(sha, "redis", actor(), started_at, round(done.gap_s, 1), OK, change, sha)
        deployer.history.append(record)
    return done


@click.command(name="upgrade-redis")
@click.option("--bundle-dir", type=click.Path(path_type=Path), default="build/deploy-bundles")
@click.pass_obj
def upgrade_redis(context: CliContext, bundle_dir: Path) -> None:
    """Recreate the VM's Redis on the serving release's image and settings (a planned restart)."""
    if context.target != "vm":
        raise DeployError("upgrade-redis: only --target vm so far (docs/operations.md)")
    config = context.config()
    deployer = Deployer(config, remote_for(config), context.stages, bundle_dir)
    try:
        done = upgrade_on_vm(deployer)
    finally:
        deployer.remote.close()
    click.echo(f"redis recreated: answered again after {done.gap_s:.1f}s")


if __name__ == "__main__":
    main()
