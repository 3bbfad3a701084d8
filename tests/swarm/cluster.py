"""A single-node Docker Swarm on this engine, the stack deployed on it, and load to measure it.

The engine is shared with compose stacks, so everything here is named for this tier (stack
linkpulse-swarm, secrets linkpulse_*, images under LOCAL_REGISTRY) and removed again by
`Cluster.tear_down`, which also leaves swarm mode. Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from swarm.render import compose_config, stack_file
from tests.stack.stack import REPO_ROOT, wait_until

STACK = "linkpulse-swarm"
# A port nothing listens on: Swarm's pull of a local image fails at once and it uses the image
# already on the node (the offline path has no registry to pull from).
LOCAL_REGISTRY = "localhost:39999"
SECRETS = ("linkpulse_redis_password", "linkpulse_redis_url", "linkpulse_visitor_hash_salt")
# Healthy in seconds, unlike the broken image, whose check can never pass.
BROKEN_HEALTHCHECK = (
    'HEALTHCHECK --interval=2s --timeout=2s --start-period=2s --retries=2 CMD ["false"]'
)


def docker(*args: str, stdin: str | None = None, timeout: float = 180) -> str:
    result = subprocess.run(
        ["docker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def local_image(image: str) -> str:
    """IMAGE re-tagged under LOCAL_REGISTRY with its content id as tag: immutable, never pulled."""
    image_id = docker("image", "inspect", "--format", "{{.Id}}", image).strip()
    name = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    reference = f"{LOCAL_REGISTRY}/{name}:{image_id.removeprefix('sha256:')[:12]}"
    docker("tag", image, reference)
    return reference


def derived_image(base: str, name: str, dockerfile_tail: str) -> str:
    """A new image FROM BASE (a new release, or a broken one), tagged like local_image."""
    tag = f"{LOCAL_REGISTRY}/app-{name}:build"
    docker("build", "--quiet", "--tag", tag, "-", stdin=f"FROM {base}\n{dockerfile_tail}\n")
    return local_image(tag)


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    clicks: Counter[str] = field(default_factory=Counter)


class Load:
    """Redirects at a bounded rate (THREADS x RATE per second) to 127.0.0.1 until stopped."""

    THREADS = 4
    RATE = 20

    def __init__(self, base_url: str, codes: list[str]) -> None:
        self.base_url = base_url
        self.codes = codes
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _run(self, offset: int) -> None:
        session = requests.Session()
        sent = offset
        while not self._stop.is_set():
            code = self.codes[sent % len(self.codes)]
            sent += 1
            try:
                response = session.get(f"{self.base_url}/{code}", allow_redirects=False, timeout=10)
                failure = None if response.status_code == 302 else f"{code}: {response.status_code}"
            except requests.RequestException as error:
                failure = f"{code}: {error!r}"
            with self._lock:
                self.result.requests += 1
                if failure is None:
                    self.result.clicks[code] += 1
                else:
                    self.result.failures.append(failure)
            self._stop.wait(1 / self.RATE)

    @contextmanager
    def running(self) -> Iterator[LoadResult]:
        threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.THREADS)
        ]
        for thread in threads:
            thread.start()
        try:
            yield self.result
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=30)


@dataclass
class Cluster:
    env_file: Path
    stack_file: Path
    base_url: str
    images: dict[str, str] = field(default_factory=dict)
    created_gwbridge: bool = False

    @classmethod
    def create(cls, env_file: Path, build_dir: Path) -> Cluster:
        """Refuses an engine already in swarm mode: that swarm is not this tier's to remove."""
        state = docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
        if state != "inactive":
            raise AssertionError(
                f"this engine is already in swarm mode ({state}); the swarm tier makes its own"
            )
        env = read_env(env_file)
        had_gwbridge = "docker_gwbridge" in docker("network", "ls", "--format", "{{.Name}}").split()
        cluster = cls(
            env_file=env_file,
            stack_file=build_dir / "swarm-stack.json",
            base_url=f"http://127.0.0.1:{env['HTTP_PORT']}",
            created_gwbridge=not had_gwbridge,
        )
        return cluster

    def init(self) -> None:
        """Swarm mode on this engine, the state label, and the stack's secrets."""
        env = read_env(self.env_file)
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        node = docker("info", "--format", "{{.Swarm.NodeID}}").strip()
        docker("node", "update", "--label-add", "linkpulse.state=true", node)
        password = env["REDIS_PASSWORD"]
        for name, value in {
            "linkpulse_redis_password": password,
            "linkpulse_redis_url": f"redis://:{password}@redis:6379/0",
            "linkpulse_visitor_hash_salt": env["VISITOR_HASH_SALT"],
        }.items():
            docker("secret", "create", name, "-", stdin=value)

    def render(self, **settings: str) -> None:
        """Write the stack file: compose's config of the image path plus the Swarm overlay."""
        env = read_env(self.env_file)
        files = [Path(name) for name in env["COMPOSE_FILE"].split(":")]
        config = compose_config(
            [*files, Path("docker-compose.swarm.yml")], self.env_file, REPO_ROOT, settings
        )

        def image_for(image: str) -> str:
            if image not in self.images:
                self.images[image] = local_image(image)
            return self.images[image]

        self.stack_file.write_text(json.dumps(stack_file(config, image_for), indent=2))

    def deploy(self) -> None:
        docker("stack", "deploy", "--detach=true", "--prune", "-c", str(self.stack_file), STACK)

    def scale(self, replicas: dict[str, int]) -> None:
        docker(
            "service",
            "scale",
            "--detach",
            *(f"{self.service(name)}={count}" for name, count in replicas.items()),
        )

    def update_image(self, name: str, image: str) -> None:
        """A rolling update by the service's update_config (start-first, rollback on failure)."""
        docker("service", "update", "--detach", "--image", image, self.service(name))

    def service(self, name: str) -> str:
        return f"{STACK}_{name}"

    def running_tasks(self, name: str) -> list[dict[str, Any]]:
        """Tasks of SERVICE whose container runs and, where it has a health check, is healthy."""
        ids = docker(
            "ps", "--quiet", "--filter", f"label=com.docker.swarm.service.name={self.service(name)}"
        ).split()
        if not ids:
            return []
        containers = json.loads(docker("inspect", *ids))
        return [
            container
            for container in containers
            if container["State"]["Running"]
            and container["State"].get("Health", {}).get("Status", "healthy") == "healthy"
        ]

    def converged(self, replicas: dict[str, int]) -> bool:
        return all(len(self.running_tasks(name)) == count for name, count in replicas.items())

    def wait_converged(self, replicas: dict[str, int], deadline_s: float = 240) -> None:
        wait_until(lambda: self.converged(replicas), f"replicas {replicas}", deadline_s)

    def update_status(self, name: str) -> tuple[str, str]:
        """(state, started at) of the service's last update; ("", "") before its first."""
        status = docker(
            "service", "inspect", "--format", "{{json .UpdateStatus}}", self.service(name)
        )
        parsed = json.loads(status) or {}
        return str(parsed.get("State", "")), str(parsed.get("StartedAt", ""))

    def wait_update(
        self, name: str, before: tuple[str, str], final: set[str], deadline_s: float = 300
    ) -> str:
        """The end state of the update that started after BEFORE (update_status of then)."""

        def ended() -> str | None:
            state, started = self.update_status(name)
            return state if started != before[1] and state in final else None

        return wait_until(ended, f"the update of {name} to end in {sorted(final)}", deadline_s)

    def task_images(self, name: str) -> set[str]:
        return {task["Config"]["Image"] for task in self.running_tasks(name)}

    def exec_in(self, name: str, *command: str) -> str:
        container = self.running_tasks(name)[0]["Id"]
        return docker("exec", container, *command)

    def prometheus(self, query_path: str) -> Any:
        """Prometheus' HTTP API, asked from inside nginx (Prometheus publishes nothing on Swarm)."""
        body = self.exec_in("nginx", "curl", "-fsS", f"http://prometheus:9090{query_path}")
        return json.loads(body)["data"]

    def scraped_up(self, job: str) -> set[str]:
        targets = self.prometheus("/api/v1/targets?state=active")["activeTargets"]
        return {
            target["labels"]["instance"].rsplit(":", 1)[0]
            for target in targets
            if target["labels"]["job"] == job and target["health"] == "up"
        }

    def task_addresses(self, name: str) -> set[str]:
        return {
            network["IPAddress"]
            for task in self.running_tasks(name)
            for network_name, network in task["NetworkSettings"]["Networks"].items()
            if network_name == f"{STACK}_monitoring"
        }

    def tear_down(self) -> None:
        """Remove the stack, its secrets, volumes and images, and leave swarm mode."""
        try:
            docker("stack", "rm", STACK)
            wait_until(
                lambda: (
                    not docker(
                        "ps",
                        "--all",
                        "--quiet",
                        "--filter",
                        f"label=com.docker.stack.namespace={STACK}",
                    ).strip()
                ),
                "the stack's containers to be removed",
                120,
            )
            for secret in SECRETS:
                subprocess.run(["docker", "secret", "rm", secret], capture_output=True, check=False)
        finally:
            subprocess.run(
                ["docker", "swarm", "leave", "--force"], capture_output=True, check=False
            )
        present = set(docker("volume", "ls", "--quiet").split())
        stack = json.loads(self.stack_file.read_text()) if self.stack_file.exists() else {}
        volumes = [f"{STACK}_{name}" for name in stack.get("volumes", {})]
        if created := [volume for volume in volumes if volume in present]:
            docker("volume", "rm", *created)
        if self.created_gwbridge:
            subprocess.run(
                ["docker", "network", "rm", "docker_gwbridge"], capture_output=True, check=False
            )
        ours = docker(
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            f"reference={LOCAL_REGISTRY}/*",
        )
        tags = sorted(set(ours.split()))
        if tags:
            docker("rmi", *tags)
