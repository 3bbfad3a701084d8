"""The rehearsal's registry, VM stand-in, keys and deploy configuration, on the host's engine.

Names and ports are the rehearsal's own (nothing of the user's stack is touched): containers
linkpulse-rehearsal-*, network linkpulse-rehearsal, 127.0.0.1:5000 (registry), 127.0.0.1:2222
(VM sshd) and 127.0.0.1:28080 (VM nginx).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
NETWORK = "linkpulse-rehearsal"
# Outside Docker's automatic address pools, and outside the stack's own subnets.
SUBNET = "10.231.7.0/24"
# The VM reaches the registry at a fixed address: Docker's embedded DNS on a busy shared engine
# has been seen to stop answering for a network, and the rehearsal must not depend on it.
REGISTRY_IP = "10.231.7.10"
REGISTRY = "linkpulse-rehearsal-registry"
VM = "linkpulse-rehearsal-vm"
VM_VOLUME = "linkpulse-rehearsal-vm-docker"
REGISTRY_PORT = 5000
SSH_PORT = 2222
HTTP_PORT = 28080
VM_IMAGE = "linkpulse-rehearsal/vm:1"
REGISTRY_IMAGE = "linkpulse-rehearsal/registry:1"
OFFLINE_BASE = "linkpulse-offline/debian:trixie"
UPSTREAM_BASE = "debian:trixie-slim"
IMAGE_PREFIX = f"127.0.0.1:{REGISTRY_PORT}/linkpulse"
PUSH_USER = "ci-push"
PULL_USER = "vm-pull"
# What the stand-in and the rehearsal need beyond a real VM's configuration; docs/deploy.md's
# first-deploy steps get it appended too (rehearsal/first_deploy.py).
STAND_IN_CONFIG = """
# Shorter than slo/objectives.toml's deploy_gate so the rehearsal fits in `make test`; the
# thresholds (error ratio, p99) still come from the spec.
[gate]
window = "45s"
min_requests = 150
max_wait = "3m"

# --target swarm (the rehearsal's second part): a new web task must stay healthy this long
# before the next is replaced (docker-compose.swarm.yml; 20s by default).
[swarm.settings]
SWARM_UPDATE_MONITOR = "5s"

[provision.dockerd_env]
# /proc/sys is read-only in a nested engine (docs/deploy.md).
DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE = "1"
# ... and so is route_localnet, which --userland-proxy=false needs.
DOCKERD_FLAGS = "--userland-proxy=true"
"""
# What a nested engine needs here (docs/deploy.md, "the rehearsal").
VM_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
]  # fmt: skip


def docker(*args: str, check: bool = True, input_text: str | None = None) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, input=input_text
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:4])}: {result.stderr.strip()[-400:]}")
    return result.stdout


def on_vm(script: str, *, env: dict[str, str] | None = None, check: bool = True) -> str:
    """A shell script run as root on the VM stand-in, beside the deploy tool: what a person with a
    console on the VM would see."""
    flags = [arg for name, value in (env or {}).items() for arg in ("--env", f"{name}={value}")]
    return docker("exec", *flags, VM, "sh", "-c", script, check=check)


def exists(kind: str, name: str) -> bool:
    return (
        subprocess.run(
            ["docker", kind, "inspect", name], capture_output=True, check=False
        ).returncode
        == 0
    )


def new_ed25519() -> tuple[bytes, str]:
    """A fresh key pair: the private key in OpenSSH format, the public key as one line."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return pem, public.decode()


@dataclass(frozen=True)
class Rehearsal:
    workdir: Path

    @property
    def config_file(self) -> Path:
        return self.workdir / "deploy.toml"

    @property
    def docker_config(self) -> Path:
        """The controller's own docker client config (its registry login stays here)."""
        return self.workdir / "docker-config"

    def teardown(self) -> None:
        for name in (VM, REGISTRY):
            docker("rm", "--force", "--volumes", name, check=False)
        docker("volume", "rm", VM_VOLUME, check=False)
        docker("network", "rm", NETWORK, check=False)

    def build_images(self) -> None:
        base = OFFLINE_BASE if exists("image", OFFLINE_BASE) else UPSTREAM_BASE
        for image, dockerfile in (
            (VM_IMAGE, "vm.Dockerfile"),
            (REGISTRY_IMAGE, "registry.Dockerfile"),
        ):
            docker("build", "--quiet", "--build-arg", f"BASE={base}", "-t", image,
                   "-f", str(HERE / dockerfile), str(HERE))  # fmt: skip

    def start(self) -> dict[str, str]:
        """Registry and VM up; returns the credentials the rehearsal's CI and VM use."""
        self.teardown()
        self.workdir.mkdir(parents=True, exist_ok=True)
        passwords = {PUSH_USER: secrets.token_hex(16), PULL_USER: secrets.token_hex(16)}
        htpasswd = "".join(
            f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=10)).decode()}\n"
            for user, pw in passwords.items()
        )
        auth_dir = self.workdir / "registry-auth"
        auth_dir.mkdir(exist_ok=True)
        (auth_dir / "htpasswd").write_text(htpasswd)
        for user, name in ((PULL_USER, "pull-password"), (PUSH_USER, "push-password")):
            (self.workdir / name).write_text(passwords[user] + "\n")
            (self.workdir / name).chmod(0o600)
        key = self._keys()
        docker("network", "create", "--subnet", SUBNET, NETWORK)
        docker("run", "--detach", "--name", REGISTRY, "--network", NETWORK, "--ip", REGISTRY_IP,
               "-p", f"127.0.0.1:{REGISTRY_PORT}:5000",
               "-v", f"{auth_dir}:/auth:ro", REGISTRY_IMAGE)  # fmt: skip
        docker("run", "--detach", "--name", VM, "--hostname", "rehearsal-vm", "--network", NETWORK,
               *VM_FLAGS, "-v", f"{VM_VOLUME}:/var/lib/docker",
               "-p", f"127.0.0.1:{SSH_PORT}:22", "-p", f"127.0.0.1:{HTTP_PORT}:8080",
               "-e", f"ROOT_AUTHORIZED_KEY={key}",
               "-e", f"REGISTRY_UPSTREAM={REGISTRY_IP}:5000", VM_IMAGE)  # fmt: skip
        self._wait_sshd()
        self._pin_host_key()
        self._write_config()
        return passwords

    def _keys(self) -> str:
        """One ed25519 key for the admin (provision) and the deploy user; returns the public key."""
        private, public = new_ed25519()
        key_file = self.workdir / "id_ed25519"
        key_file.unlink(missing_ok=True)
        key_file.write_bytes(private)
        key_file.chmod(0o600)
        (self.workdir / "id_ed25519.pub").write_text(public + " rehearsal\n")
        return public

    def _wait_sshd(self) -> None:
        for _ in range(100):
            if (
                docker("exec", VM, "test", "-S", "/run/sshd.pid", check=False) == ""
                and subprocess.run(
                    ["docker", "exec", VM, "pgrep", "-x", "sshd"], capture_output=True, check=False
                ).returncode
                == 0
            ):
                return
            time.sleep(0.2)
        raise RuntimeError("the VM's sshd did not start")

    def host_key(self) -> str:
        """Out of band, as from a cloud console: the VM's host key, `ssh-ed25519 AAAA...`."""
        public = docker("exec", VM, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()
        return f"{public[0]} {public[1]}"

    def _pin_host_key(self) -> None:
        """Pinned before the first SSH; OpenSSH's name for a host off port 22 is [host]:port."""
        (self.workdir / "known_hosts").write_text(f"[127.0.0.1]:{SSH_PORT} {self.host_key()}\n")

    def _write_config(self) -> None:
        self.config_file.write_text(
            f"""# Written by rehearsal/infra.py; deploy/example.toml explains every key.
[host]
address = "127.0.0.1"
port = {SSH_PORT}
user = "deploy"
identity_file = "id_ed25519"
known_hosts = "known_hosts"
provision_user = "root"

[registry]
image_prefix = "{IMAGE_PREFIX}"
pull_username = "{PULL_USER}"
pull_password_file = "pull-password"

[app]
public_url = "http://127.0.0.1:{HTTP_PORT}"
http_bind = "0.0.0.0"
http_port = 8080
remote_dir = "/srv/linkpulse"
keep_releases = 3
health_timeout_s = 90
drain_timeout_s = 15
"""
            + STAND_IN_CONFIG
        )
