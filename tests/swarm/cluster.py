"""A Docker Swarm of VM stand-ins (tests/swarm/nodes.py), the stack deployed on it, and load to
measure it.

Every `docker` command of the swarm goes to a node's own engine; the host's engine only builds
and pushes the images and runs the stand-ins, and `Cluster.tear_down` removes them with all the
swarm held. Load goes to 127.0.0.1 only, through the nodes' published ports.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from swarm.render import compose_config, stack_file
from tests.stack.stack import REPO_ROOT, wait_until
from tests.swarm.nodes import Node, Nodes, host_docker, host_swarm_state

STACK = "linkpulse-swarm"
# Healthy in seconds, unlike the broken image, whose check can never pass.
BROKEN_HEALTHCHECK = (
    'HEALTHCHECK --interval=2s --timeout=2s --start-period=2s --retries=2 CMD ["false"]'
)


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    clicks: Counter[str] = field(default_factory=Counter)
    # Links the service acknowledged (201) during the load, when it writes too.
    created: list[str] = field(default_factory=list)
    # When each failure happened (time.monotonic()), in the order of failures.
    failed_at: list[float] = field(default_factory=list)

    def add(self, step: LoadResult) -> None:
        self.requests += step.requests
        self.failures += step.failures
        self.clicks.update(step.clicks)


def create_links(base_url: str, count: int) -> list[str]:
    """COUNT new links' codes, each acknowledged (201)."""
    created = []
    for _ in range(count):
        url = f"https://example.com/swarm/{uuid.uuid4().hex}"
        response = requests.post(f"{base_url}/api/links", json={"url": url}, timeout=10)
        assert response.status_code == 201, response.text
        created.append(response.json()["code"])
    return created


class Load:
    """Redirects at a bounded rate (THREADS x RATE per second) to 127.0.0.1 until stopped, and
    WRITES new links per second beside them (none by default)."""

    THREADS = 4
    RATE = 20

    def __init__(self, base_url: str, codes: list[str], writes: float = 0) -> None:
        self.base_url = base_url
        self.codes = codes
        self.writes = writes
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _write(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            url = f"https://example.com/swarm/{uuid.uuid4().hex}"
            try:
                response = session.post(f"{self.base_url}/api/links", json={"url": url}, timeout=10)
                failure = None if response.status_code == 201 else f"POST: {response.status_code}"
            except requests.RequestException as error:
                failure = f"POST: {error!r}"
            with self._lock:
                self.result.requests += 1
                if failure is None:
                    self.result.created.append(response.json()["code"])
                else:
                    self.result.failures.append(failure)
                    self.result.failed_at.append(time.monotonic())
            self._stop.wait(1 / self.writes)

    def _run(self, offset: int) -> None:
        session = requests.Session()
        sent = offset
        while not self._stop.is_set():
            code = self.codes[sent % len(self.codes)]
            sent += 1
            try:
                response = session.get(f"{self.base_url}/{code}", allow_redirects=False, timeout=10)
                failure = (
                    None
                    if response.status_code == 302
                    else f"{code}: {response.status_code} {response.text[:60]!r}"
                )
            except requests.RequestException as error:
                failure = f"{code}: {error!r}"
            with self._lock:
                self.result.requests += 1
                if failure is None:
                    self.result.clicks[code] += 1
                else:
                    self.result.failures.append(failure)
                    self.result.failed_at.append(time.monotonic())
            self._stop.wait(1 / self.RATE)

    @contextmanager
    def running(self) -> Iterator[LoadResult]:
        threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.THREADS)
        ]
        if self.writes:
            threads.append(threading.Thread(target=self._write, daemon=True))
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
    """NODES joined as managers (Raft keeps a quorum while a majority lives), the first labelled
    for state; every node also runs tasks."""

    env_file: Path
    stack_file: Path
    base_url: str
    hosts: Nodes
    images: dict[str, str] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, env_file: Path, build_dir: Path, nodes: list[Node], base_url: str) -> Cluster:
        """Refuses a host engine in swarm mode: that swarm is no tier's, and none needs it."""
        state = host_swarm_state()
        if state != "inactive":
            raise AssertionError(
                f"the host's engine is in swarm mode ({state}); the tiers never use it"
            )
        return cls(
            env_file=env_file,
            stack_file=build_dir / "swarm-stack.json",
            base_url=base_url,
            hosts=Nodes(nodes, build_dir / "swarm-nodes"),
        )

    @property
    def nodes(self) -> list[Node]:
        return [node for node in self.hosts.nodes if node.name not in self.lost]

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def state_node(self) -> Node:
        return self.hosts.nodes[0]

    def init(self) -> None:
        """The nodes up and joined, the state label, and the stack's secrets."""
        self.hosts.start()
        first, *others = self.hosts.nodes
        first.docker("swarm", "init", "--advertise-addr", first.address)
        token = first.docker("swarm", "join-token", "--quiet", "manager").strip()
        for node in others:
            node.docker("swarm", "join", "--token", token, f"{first.address}:2377")
        self.manager.docker("node", "update", "--label-add", "linkpulse.state=true", first.name)
        env = read_env(self.env_file)
        password = env["REDIS_PASSWORD"]
        for name, value in {
            "linkpulse_redis_password": password,
            "linkpulse_redis_url": f"redis://:{password}@redis:6379/0",
            "linkpulse_visitor_hash_salt": env["VISITOR_HASH_SALT"],
            "linkpulse_alert_receiver_key": "none",  # the shipped receiver (the sink) reads none
        }.items():
            self.manager.docker("secret", "create", name, "-", stdin=value)

    def render(self, **settings: str) -> None:
        """Write the stack file: compose's config of the image path plus the Swarm overlay, each
        image pushed to the nodes' registry."""
        env = read_env(self.env_file)
        files = [Path(name) for name in env["COMPOSE_FILE"].split(":")]
        config = compose_config(
            [*files, Path("docker-compose.swarm.yml")], self.env_file, REPO_ROOT, settings
        )

        def image_for(image: str) -> str:
            if image not in self.images:
                self.images[image] = self.hosts.push(image)
            return self.images[image]

        self.stack_file.write_text(json.dumps(stack_file(config, image_for), indent=2))

    def derived_image(self, base: str, name: str, dockerfile_tail: str) -> str:
        """A new image FROM BASE (a new release, or a broken one), built here and pushed."""
        tag = f"{STACK}/app-{name}:build"
        host_docker(
            "build", "--quiet", "--tag", tag, "-", stdin=f"FROM {base}\n{dockerfile_tail}\n"
        )
        reference = self.hosts.push(tag)
        host_docker("rmi", tag)
        return reference

    def start_stack(
        self, replicas: dict[str, int], deadline_s: float = 240, **settings: str
    ) -> None:
        """The stack deployed with web 2 and worker 1 (and SETTINGS), REPLICAS running, nginx
        reaching web."""
        self.render(WEB_REPLICAS="2", WORKER_REPLICAS="1", **settings)
        self.deploy()
        self.wait_converged(replicas, deadline_s)
        wait_until(
            lambda: requests.get(f"{self.base_url}/readyz", timeout=5).status_code == 200,
            "nginx to reach web on the swarm",
        )

    def deploy(self) -> None:
        self.manager.docker(
            "stack", "deploy", "--detach=true", "--prune", "-c", "-", STACK,
            stdin=self.stack_file.read_text(),
        )  # fmt: skip

    def scale(self, replicas: dict[str, int]) -> None:
        self.manager.docker(
            "service",
            "scale",
            "--detach",
            *(f"{self.service(name)}={count}" for name, count in replicas.items()),
        )

    def update_image(self, name: str, image: str) -> None:
        """A rolling update by the service's update_config (start-first, rollback on failure)."""
        self.manager.docker("service", "update", "--detach", "--image", image, self.service(name))

    def service(self, name: str) -> str:
        return f"{STACK}_{name}"

    def tasks(self, name: str) -> list[tuple[Node, dict[str, Any]]]:
        """(node, container) of SERVICE's tasks whose container runs and, where it has a health
        check, is healthy, on every node still up."""
        found = []
        for node in self.nodes:
            label = f"label=com.docker.swarm.service.name={self.service(name)}"
            ids = node.docker("ps", "--quiet", "--filter", label).split()
            if ids:
                found += [
                    (node, container) for container in json.loads(node.docker("inspect", *ids))
                ]
        return [
            (node, container)
            for node, container in found
            if container["State"]["Running"]
            and container["State"].get("Health", {}).get("Status", "healthy") == "healthy"
        ]

    def running_tasks(self, name: str) -> list[dict[str, Any]]:
        return [container for _, container in self.tasks(name)]

    def placement(self, name: str) -> Counter[str]:
        """How many of SERVICE's healthy tasks each node runs."""
        return Counter(node.name for node, _ in self.tasks(name))

    def missing_replicas(self) -> dict[str, int]:
        """Each service short of its replicas on the nodes still up (a global one wants one per
        node up), by how many; empty when every service is whole."""
        healthy: Counter[str] = Counter()
        for node in self.nodes:
            listed = node.docker(
                "ps", "--filter", f"label=com.docker.stack.namespace={STACK}",
                "--format", '{{.Label "com.docker.swarm.service.name"}}\t{{.Status}}',
            )  # fmt: skip
            for line in listed.splitlines():
                service, _, status = line.partition("\t")
                if "starting" not in status and "unhealthy" not in status:
                    healthy[service] += 1
        services = self.manager.docker(
            "service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}"
        )
        missing = {}
        for line in services.splitlines():
            name, mode, replicas = line.split(maxsplit=2)
            wanted = len(self.nodes) if mode == "global" else int(replicas.split()[0].split("/")[1])
            if healthy[name] < wanted:
                missing[name] = wanted - healthy[name]
        return missing

    def converged(self, replicas: dict[str, int]) -> bool:
        return all(len(self.running_tasks(name)) == count for name, count in replicas.items())

    def wait_converged(self, replicas: dict[str, int], deadline_s: float = 240) -> None:
        wait_until(lambda: self.converged(replicas), f"replicas {replicas}", deadline_s)

    def update_status(self, name: str) -> tuple[str, str]:
        """(state, started at) of the service's last update; ("", "") before its first."""
        status = self.manager.docker(
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
        """Without the digest Swarm pins to a reference when it resolves it in the registry."""
        return {task["Config"]["Image"].split("@")[0] for task in self.running_tasks(name)}

    def exec_in(self, name: str, *command: str) -> str:
        node, container = self.tasks(name)[0]
        return node.docker("exec", container["Id"], *command)

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
        """The nodes go with all the swarm held (stack, secrets, volumes, images), the registry
        and the pushed tags too; the host's engine must still be out of swarm mode."""
        self.hosts.remove()
        self.hosts.remove_pushed_tags()
        state = host_swarm_state()
        assert state == "inactive", f"the host's engine entered swarm mode ({state})"
