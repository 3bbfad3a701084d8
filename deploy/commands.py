"""The Docker commands of the VM target as plain argv lists (Kamal's lib/kamal/commands style):
built here by pure functions and tested as strings, run by deploy/vm.py through the host."""

from __future__ import annotations

from collections.abc import Sequence

from deploy.layout import Layout

PROJECT = "linkpulse"
SERVICE_LABEL = "com.docker.compose.service"
PROJECT_LABEL = "com.docker.compose.project"


def compose(layout: Layout, sha: str, *args: str) -> list[str]:
    """`docker compose` on release SHA: its compose file, its rendered override, the VM's
    secrets and the release's non-secret settings."""
    release = layout.release_dir(sha)
    return [
        "docker", "compose", "-p", PROJECT,
        "--project-directory", release,
        "-f", f"{release}/docker-compose.yml",
        "-f", f"{release}/{layout.OVERRIDE}",
        "--env-file", layout.secrets_env,
        "--env-file", f"{release}/{layout.RELEASE_ENV}",
        *args,
    ]  # fmt: skip


def container_ids(service: str | None = None, *, include_stopped: bool = False) -> list[str]:
    """The ids of the project's containers (of SERVICE alone, if named)."""
    argv = ["docker", "ps", "--quiet", *(["--all"] if include_stopped else [])]
    argv += ["--filter", f"label={PROJECT_LABEL}={PROJECT}"]
    if service:
        argv += ["--filter", f"label={SERVICE_LABEL}={service}"]
    return argv


def image_layers(ref: str) -> list[str]:
    return ["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref]


def stop(ids: Sequence[str], grace_s: int) -> list[str]:
    """SIGTERM, then SIGKILL after GRACE_S: what each service's shutdown is given."""
    return ["docker", "stop", "--time", str(grace_s), *ids]


def remove(ids: Sequence[str], *, force: bool = False) -> list[str]:
    return ["docker", "rm", *(["--force"] if force else []), *ids]
