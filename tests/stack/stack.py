"""Driving the running compose stack from the host: compose commands, published ports, polling.

Everything the stack tier sends goes to 127.0.0.1 ports that compose published; looking inside
containers goes through the Docker CLI (inspect, exec, logs), never through container addresses.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM
from tests.support.commands import REPO_ROOT, run

T = TypeVar("T")


def compose(*args: str, timeout: float = 240) -> str:
    """Run `docker compose ARGS` the way `make` does (repo root, so .env and COMPOSE_FILE apply)."""
    result = run("docker", "compose", *args, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"docker compose {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
        )
    return result.stdout


def env_file() -> Path:
    """The env file compose reads for this stack: the stack tier's own, else the user's .env."""
    return Path(os.environ.get("COMPOSE_ENV_FILES") or REPO_ROOT / ".env")


def docker(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return result.stdout


def wait_until(probe: Callable[[], T | None], what: str, deadline_s: float = 60) -> T:
    """Poll `probe` until it returns something other than None/False; fail after the deadline."""
    deadline = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.RequestException, AssertionError) as error:
            last_error = error
            value = None
        if value is not None and value is not False:
            return value
        time.sleep(0.5)
    raise AssertionError(f"gave up after {deadline_s:.0f} s waiting for {what} ({last_error!r})")


def image_exists(image: str) -> bool:
    inspect = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, check=False, timeout=30
    )
    return inspect.returncode == 0


def running_containers() -> list[dict[str, Any]]:
    """`docker inspect` of every running container of the project."""
    ids = compose("ps", "--quiet", "--status", "running").split()
    assert ids, "no running container: is the stack up (make up)?"
    inspected: list[dict[str, Any]] = json.loads(docker("inspect", *ids))
    return inspected


def service_of(container: dict[str, Any]) -> str:
    return str(container["Config"]["Labels"]["com.docker.compose.service"])


@dataclass(frozen=True)
class Stack:
    """Base URLs of the published ports (whatever HTTP_PORT etc. say in .env)."""

    app_url: str
    prometheus_url: str

    @classmethod
    def discover(cls) -> Stack:
        return cls(
            app_url=f"http://{published('nginx', 8080)}",
            prometheus_url=f"http://{published('prometheus', 9090)}",
        )

    def create_link(self, url: str) -> dict[str, Any]:
        response = requests.post(f"{self.app_url}/api/links", json={"url": url}, timeout=10)
        assert response.status_code == 201, response.text
        link: dict[str, Any] = response.json()
        return link

    def click(self, code: str) -> requests.Response:
        return requests.get(f"{self.app_url}/{code}", allow_redirects=False, timeout=10)

    def clicks(self, code: str) -> int:
        response = requests.get(f"{self.app_url}/api/links/{code}", timeout=10)
        assert response.status_code == 200, response.text
        return int(response.json()["clicks"])

    def active_alerts(self) -> set[str]:
        """Prometheus's pending and firing alerts, as 'AlertName (state)'."""
        answer = requests.get(f"{self.prometheus_url}/api/v1/alerts", timeout=10).json()
        return {
            f"{alert['labels']['alertname']} ({alert['state']})"
            for alert in answer["data"]["alerts"]
        }

    def wait_for_clicks(self, code: str, expected: int, deadline_s: float = 60) -> None:
        wait_until(
            lambda: self.clicks(code) >= expected,
            f"{expected} clicks counted for {code}",
            deadline_s,
        )
        assert self.clicks(code) == expected


def published(service: str, port: int) -> str:
    """host:port that compose published for SERVICE's container PORT, always as 127.0.0.1."""
    binding = compose("port", service, str(port)).strip()
    assert binding, f"{service}:{port} is not published"
    host, _, host_port = binding.rpartition(":")
    assert host in {"0.0.0.0", "127.0.0.1"}, binding
    return f"127.0.0.1:{host_port}"


def up(*extra: str) -> None:
    """`docker compose up` and wait for every service to be healthy, as `make up` does."""
    compose("up", "--detach", "--wait", "--wait-timeout", "180", *extra, timeout=300)


def redis_cli(command: str) -> str:
    """One redis-cli command inside the redis container, with the password redis requires (which
    a rotation changes after the container was created with REDIS_PASSWORD)."""
    login = 'REDISCLI_AUTH="$(cat /data/redis-password)"'
    return compose("exec", "-T", "redis", "sh", "-c", f"{login} redis-cli {command}")


def pending_clicks() -> int:
    """Events delivered to a worker but not acknowledged yet (read with redis-cli inside redis)."""
    return int(redis_cli(f"XPENDING {CLICK_STREAM} {CLICK_GROUP}").split()[0])


def alert_sink_notifications() -> list[dict[str, Any]]:
    """Every notification the stack's alert-sink received from Alertmanager, oldest first."""
    response = requests.get(f"http://{published('alert-sink', 9095)}/notifications", timeout=10)
    response.raise_for_status()
    received: list[dict[str, Any]] = response.json()
    return received
