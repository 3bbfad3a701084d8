"""The local compose stack's Redis, driven with the Docker CLI from the repository's root.

`docker compose` reads the project from the environment (.env, or a test tier's own project), so
this works on whichever stack `make` points it at. The password never appears on a command line:
the shell inside the redis container reads it from that container's environment.
"""

from __future__ import annotations

import subprocess

from backup.snapshot import INSTALL_SCRIPT, BackupError
from deploy.redis_auth import redis_cli

REVISION_LABEL = "org.opencontainers.image.revision"
WAIT_TIMEOUT_S = "180"


def _run(*args: str, stdin: bytes | None = None, timeout: float = 600) -> bytes:
    try:
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupError(f"{' '.join(args[:3])}: {error}") from error
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
        raise BackupError(f"{' '.join(args[:4])} failed: {lines[-1]}")
    return done.stdout


def _compose(*args: str, stdin: bytes | None = None) -> bytes:
    return _run("docker", "compose", *args, stdin=stdin)


def _running(service: str) -> list[str]:
    return _compose("ps", "--quiet", "--status", "running", service).decode().split()


class ComposeRedis:
    """The stack's redis service; refused when it is not running."""

    def __init__(self) -> None:
        if not _running("redis"):
            raise BackupError("the stack's redis is not running (make up starts it)")

    def cli(self, *args: str) -> str:
        return _compose("exec", "-T", "redis", *redis_cli(*args)).decode()

    def read_dump(self) -> bytes:
        return _compose("exec", "-T", "redis", "cat", "/data/dump.rdb")

    def replace_data(self, rdb: bytes) -> None:
        # `up` brings every service back at its configured scale: keep the workers' current one.
        workers = len(_running("worker"))
        _compose("stop", "web", "worker")
        _compose("stop", "redis")
        _compose(
            "run",
            "--rm",
            "--no-deps",
            "-T",
            "--workdir",
            "/data",
            "--entrypoint",
            "sh",
            "redis",
            "-c",
            INSTALL_SCRIPT,
            stdin=rdb,
        )
        _compose(
            "up",
            "--detach",
            "--wait",
            "--wait-timeout",
            WAIT_TIMEOUT_S,
            "--no-build",
            "--no-recreate",
            "--scale",
            f"worker={max(workers, 1)}",
        )

    def release(self) -> str:
        web = _running("web")
        if not web:
            return ""
        label = f'{{{{index .Config.Labels "{REVISION_LABEL}"}}}}'
        return _run("docker", "inspect", "--format", label, web[0]).decode().strip()
