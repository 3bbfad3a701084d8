"""The bench project's containers, through `docker compose` (project and files come from the
environment the Makefile sets: COMPOSE_PROJECT_NAME, COMPOSE_ENV_FILES, COMPOSE_FILE)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM

PROBE_SCRIPT = Path(__file__).with_name("stream_probe.lua")
# Inside the redis container: redis-cli with the password from the container's environment.
_REDIS_CLI = 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli'


def compose(*args: str, stdin: bytes | None = None) -> str:
    completed = subprocess.run(
        ["docker", "compose", *args], input=stdin, capture_output=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"docker compose {' '.join(args)} failed: {completed.stderr.decode().strip()}"
        )
    return completed.stdout.decode()


def in_redis(shell: str, stdin: bytes | None = None) -> str:
    """Runs a shell command in the redis container, where REDIS_PASSWORD is set."""
    return compose("exec", "-T", "redis", "sh", "-c", shell, stdin=stdin)


def redis_cli(*args: str) -> str:
    quoted = " ".join("'" + arg.replace("'", "'\\''") + "'" for arg in args)
    return in_redis(f"{_REDIS_CLI} --raw {quoted}").strip()


def redis_pipe(commands: bytes) -> None:
    """Sends RESP-encoded commands in bulk (redis-cli --pipe), failing on any error reply."""
    out = in_redis(f"{_REDIS_CLI} --pipe", stdin=commands)
    if "errors: 0" not in out:
        raise RuntimeError(f"redis-cli --pipe reported errors: {out.strip()}")


def resp(*args: str) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


@dataclass(frozen=True)
class StreamReading:
    """One stream_probe.lua reading (-1: Redis cannot tell)."""

    server_ms: int
    undelivered: int
    pending: int
    oldest_age_ms: int


class StreamProbe:
    """A redis-cli loop in the redis container that answers one reading per request line.

    One long-lived `docker compose exec` instead of one per reading: each exec costs dockerd
    tens of milliseconds of CPU, which would load the machine being measured. Closing its
    input ends the loop inside the container as well.
    """

    def __init__(self) -> None:
        script = PROBE_SCRIPT.read_text()
        loop = (
            f'while read -r _; do {_REDIS_CLI} --raw EVAL "$PROBE" 1 '
            f"{CLICK_STREAM} {CLICK_GROUP}; done"
        )
        self._process = subprocess.Popen(
            ["docker", "compose", "exec", "-T", "-e", f"PROBE={script}", "redis", "sh", "-c", loop],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self) -> StreamReading:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(b"\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline().decode().split()
        if len(line) != 4:
            raise RuntimeError(f"stream probe answered {line!r}")
        server_ms, undelivered, pending, age = (int(value) for value in line)
        return StreamReading(server_ms, undelivered, pending, age)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)


@contextmanager
def stream_probe() -> Iterator[StreamProbe]:
    probe = StreamProbe()
    try:
        yield probe
    finally:
        probe.close()


def published(service: str, port: int) -> str:
    """The host address compose published a service's port on, as a loopback URL."""
    address = compose("port", service, str(port)).strip().splitlines()[0]
    host_port = address.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{host_port}"


_CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct/docker")
_CGROUP_V2 = Path("/sys/fs/cgroup/system.slice")


def _container_cpu_seconds(container_id: str) -> float | None:
    v1 = _CGROUP_V1 / container_id / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    v2 = _CGROUP_V2 / f"docker-{container_id}.scope" / "cpu.stat"
    if v2.exists():
        for line in v2.read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
    return None


def containers_by_service() -> dict[str, str]:
    ids = compose("ps", "-q").split()
    out = subprocess.run(
        ["docker", "inspect", "--format",
         '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}}', *ids],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(line.split() for line in out.splitlines() if line.strip())


def cpu_seconds(containers: dict[str, str]) -> dict[str, float]:
    """Each service's cumulative CPU seconds (from its cgroup), plus the host's busy seconds."""
    usage = {
        service: seconds
        for service, container_id in containers.items()
        if (seconds := _container_cpu_seconds(container_id)) is not None
    }
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    usage["(host, all processes)"] = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return usage
