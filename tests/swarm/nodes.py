"""Swarm nodes for the swarm tiers: VM stand-ins, each a container on the host's engine with a
Docker engine of its own inside (the rehearsal's VM image), and a registry stand-in they pull from.

Swarm mode lives in the stand-ins' engines only. The host's engine never enters it: an engine
that leaves swarm mode takes name resolution away from every compose stack running on it
(../shared/containers.md), a person's `make up` stack included. Everything here is named for
the tiers (containers, volumes and network linkpulse-swarm*) and removed by `Nodes.remove`.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from rehearsal import infra
from tests.stack.stack import wait_until

PREFIX = "linkpulse-swarm"
NETWORK = PREFIX
# Outside Docker's address pools, the stack's subnets and the rehearsal's 10.231.7.0/24.
SUBNET = "10.231.8.0/24"
REGISTRY = f"{PREFIX}-registry"
REGISTRY_IP = "10.231.8.10"
# The registry's port on the host and, through vm-init's relay, on every node: image names are
# the same on both sides, and 127.0.0.1 needs no insecure-registry setting on either.
REGISTRY_PORT = 35000
IMAGE_PREFIX = f"127.0.0.1:{REGISTRY_PORT}/{PREFIX}"
BALANCER = f"{PREFIX}-balancer"
BALANCER_IMAGE = f"{PREFIX}/balancer:1"
BALANCER_IP = "10.231.8.9"
# A node out of rotation after FALL failed checks INTERVAL apart, back after RISE good ones.
BALANCER_CHECK = "inter 1s fall 2 rise 2"


def host_docker(*args: str, stdin: str | None = None, timeout: float = 300) -> str:
    """The host's engine; fails with docker's own message."""
    result = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:6])} failed: {result.stderr.strip()}")
    return result.stdout


def host_swarm_state() -> str:
    """The host engine's swarm state: "inactive" before and after every swarm tier."""
    return host_docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class Node:
    """One VM stand-in. PORTS maps a port on the host's 127.0.0.1 to the node's own port."""

    number: int
    ports: dict[int, int]

    @property
    def name(self) -> str:
        return f"{PREFIX}-node{self.number}"

    @property
    def address(self) -> str:
        return f"10.231.8.{10 + self.number}"

    @property
    def volume(self) -> str:
        return f"{self.name}-docker"

    def docker(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """The node's own engine, as its operator would run `docker` on it."""
        interactive = ["--interactive"] if stdin is not None else []
        return host_docker(
            "exec", *interactive, self.name, "docker", *args, stdin=stdin, timeout=timeout
        )

    def start(self) -> None:
        published = [f"--publish=127.0.0.1:{outer}:{inner}" for outer, inner in self.ports.items()]
        host_docker(
            "run", "--detach", "--name", self.name, "--hostname", self.name,
            "--network", NETWORK, "--ip", self.address, *infra.VM_FLAGS,
            "--volume", f"{self.volume}:/var/lib/docker", *published,
            "--env", f"REGISTRY_UPSTREAM={REGISTRY_IP}:5000",
            "--env", f"REGISTRY_LOCAL_PORT={REGISTRY_PORT}", infra.VM_IMAGE,
        )  # fmt: skip
        self.start_engine()

    def start_engine(self) -> None:
        """What `deploy provision` does on a real VM, less the install (the image has the engine);
        /proc/sys is read-only in a nested engine, hence the variable. After a power cut the pid
        files are stale and their PIDs reused in the new container: dockerd would refuse to
        start ("process with PID 10 is still running", measured)."""
        host_docker(
            "exec", "--detach", self.name, "sh", "-c",
            "rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid && "
            "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 exec dockerd >/var/log/dockerd.log 2>&1",
        )  # fmt: skip

    def wait_engine(self) -> None:
        wait_until(
            lambda: self.docker("info", "--format", "{{.ID}}").strip(), f"{self.name}'s engine"
        )

    def kill(self) -> None:
        """A power cut: the node's engine and every task on it stop at once."""
        host_docker("kill", self.name)

    def power_on(self) -> None:
        """Back after a power cut: its engine starts on the swarm state it kept on its volume
        and rejoins; a failure says what the engine logged."""
        host_docker("start", self.name)
        self.start_engine()
        try:
            wait_until(
                lambda: (
                    self.docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip() == "active"
                ),
                f"{self.name} back in the swarm",
                120,
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.engine_log()}") from error

    def engine_log(self) -> str:
        tail = ["exec", self.name, "tail", "-n", "40", "/var/log/dockerd.log"]
        return subprocess.run(["docker", *tail], capture_output=True, text=True, check=False).stdout


@dataclass
class Nodes:
    """The registry stand-in and NODES, started by `start` and removed by `remove`."""

    nodes: list[Node]
    workdir: Path

    def refuse_taken(self) -> None:
        """Our own leftovers are removed first; a port someone else holds stops the tier."""
        self.remove()
        ports = [REGISTRY_PORT, *(port for node in self.nodes for port in node.ports)]
        if taken := [port for port in ports if port_taken(port)]:
            raise AssertionError(f"the swarm tier needs 127.0.0.1 ports {taken}, which are taken")

    def start(self) -> None:
        self.refuse_taken()
        infra.Rehearsal(self.workdir).build_images()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The rehearsal's registry without its logins (the rehearsal covers those).
        config = yaml.safe_load((infra.HERE / "registry.yml").read_text())
        config.pop("auth")
        registry_config = self.workdir / "registry.yml"
        registry_config.write_text(yaml.safe_dump(config))
        host_docker("network", "create", "--subnet", SUBNET, NETWORK)
        host_docker(
            "run", "--detach", "--name", REGISTRY, "--network", NETWORK, "--ip", REGISTRY_IP,
            "--publish", f"127.0.0.1:{REGISTRY_PORT}:5000",
            "--volume", f"{registry_config}:/etc/docker/registry/config.yml:ro",
            infra.REGISTRY_IMAGE,
        )  # fmt: skip
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_engine()

    def remove(self) -> None:
        for name in (*(node.name for node in self.nodes), REGISTRY, BALANCER):
            subprocess.run(
                ["docker", "rm", "--force", "--volumes", name], capture_output=True, check=False
            )
        for node in self.nodes:
            subprocess.run(
                ["docker", "volume", "rm", node.volume], capture_output=True, check=False
            )
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)

    def push(self, image: str) -> str:
        """IMAGE from the host's store into the registry, named by its content id: immutable."""
        image_id = host_docker("image", "inspect", "--format", "{{.Id}}", image).strip()
        name = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
        reference = f"{IMAGE_PREFIX}/{name}:{image_id.removeprefix('sha256:')[:12]}"
        host_docker("tag", image, reference)
        host_docker("push", "--quiet", reference, timeout=600)
        return reference

    def remove_pushed_tags(self) -> None:
        listed = host_docker(
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            f"reference={IMAGE_PREFIX}/*",
        )
        if tags := sorted(set(listed.split())):
            host_docker("rmi", *tags)


def balancer_config(nodes: list[Node], port: int) -> str:
    """HAProxy in front of every node's nginx: health-checked, and a request whose connection
    fails goes to another node (only then: a request that reached a node is never sent twice,
    since a redirect counts a click). The check asks the node's nginx itself (/nginx-health):
    /readyz would go on to a web task anywhere in the swarm, and one lost node's web tasks would
    fail the checks of the nodes left (measured: every node out of rotation, 503s)."""
    servers = "".join(
        f"  server {node.name} {node.address}:{port} check {BALANCER_CHECK}\n" for node in nodes
    )
    return f"""global
  log stdout format raw local0 warning
defaults
  mode http
  log global
  option forwardfor
  timeout connect 1s
  timeout client 30s
  timeout server 10s
  retries 2
  option redispatch
frontend public
  bind :8080
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /nginx-health
  http-check expect status 200
{servers}"""


@dataclass(frozen=True)
class Balancer:
    """The external load balancer stand-in, published on 127.0.0.1:PORT; `Nodes.remove` removes
    it with the nodes."""

    port: int
    workdir: Path

    def start(self, nodes: list[Node], node_port: int) -> None:
        if port_taken(self.port):
            raise AssertionError(f"the balancer needs 127.0.0.1:{self.port}, which is taken")
        base = (
            infra.OFFLINE_BASE if infra.exists("image", infra.OFFLINE_BASE) else infra.UPSTREAM_BASE
        )
        here = Path(__file__).resolve().parent
        host_docker(
            "build", "--quiet", "--build-arg", f"BASE={base}", "--tag", BALANCER_IMAGE,
            "--file", str(here / "balancer.Dockerfile"), str(here),
        )  # fmt: skip
        config = self.workdir / "haproxy.cfg"
        config.write_text(balancer_config(nodes, node_port))
        host_docker(
            "run", "--detach", "--name", BALANCER, "--network", NETWORK, "--ip", BALANCER_IP,
            "--publish", f"127.0.0.1:{self.port}:8080",
            "--volume", f"{config}:/etc/haproxy/haproxy.cfg:ro", BALANCER_IMAGE,
        )  # fmt: skip
