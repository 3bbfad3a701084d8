"""The controller's side of a release: its git checkout and compose file (run locally)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from deploy.errors import DeployError

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# The settings docker-compose.yml refuses to start without (${NAME:?...}): provision generates
# them on the VM and init-swarm makes Swarm secrets of them. tests/unit/test_stack_secrets.py
# checks this list against the compose files, .env.example and scripts/stack-env.sh.
SECRETS = ("REDIS_PASSWORD", "VISITOR_HASH_SALT", "GRAFANA_ADMIN_PASSWORD")
# Secrets the operator sets in the VM's .env, never generated: the alert receiver's URL or key
# (docs/operations.md "Paging a person"); init-swarm makes Swarm secrets of them too.
OPERATOR_SECRETS = ("ALERT_RECEIVER_KEY",)
# Placeholders: rendering the compose file for its image names needs no secret.
PLACEHOLDER_SECRETS = dict.fromkeys(SECRETS, "unused")


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    except FileNotFoundError as error:
        raise DeployError(f"{argv[0]} is not installed here") from error
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise DeployError(f"{' '.join(argv[:3])}: {detail[-1] if detail else result.returncode}")
    return result.stdout


def check_sha(sha: str) -> str:
    if not FULL_SHA.match(sha):
        raise DeployError(f"{sha!r} is not a full git sha (40 lowercase hex digits)")
    return sha


def commit_exists(repo: Path, sha: str) -> None:
    check_sha(sha)
    try:
        run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], repo)
    except DeployError as error:
        raise DeployError(f"unknown sha {sha}: no such commit in {repo}") from error


def head(repo: Path) -> str:
    return run(["git", "rev-parse", "HEAD"], repo).strip()


def is_clean(repo: Path) -> bool:
    return run(["git", "status", "--porcelain", "--untracked-files=no"], repo).strip() == ""


def extra_tags(repo: Path) -> list[str]:
    """Branch name (sanitised) and semver tags (without the v) pointing at HEAD."""
    tags = []
    branch = run(["git", "rev-parse", "--abbrev-ref", "HEAD"], repo).strip()
    if branch and branch != "HEAD":
        tags.append(re.sub(r"[^A-Za-z0-9_.-]", "-", branch)[:128])
    for tag in run(["git", "tag", "--points-at", "HEAD"], repo).split():
        if re.match(r"^v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$", tag):
            tags.append(tag.removeprefix("v").replace("+", "-"))
    return tags


def export_files(repo: Path, sha: str, paths: list[str], dest: Path) -> None:
    """The files of one commit (not the work tree), so a deploy ships exactly that sha."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, *paths], cwd=repo, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise DeployError(f"git archive {sha[:12]}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def app_version(repo: Path) -> str:
    """The version has one home, pyproject.toml; images carry it as a label and APP_VERSION."""
    try:
        return str(tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise DeployError(f"{repo}/pyproject.toml names no project version: {error}") from error


def compose_config(compose_file: Path, prefix: str, sha: str) -> dict[str, Any]:
    env = {**PLACEHOLDER_SECRETS, "IMAGE_PREFIX": prefix, "IMAGE_TAG": sha, "GIT_REVISION": sha}
    env["COMPOSE_FILE"] = str(compose_file)
    text = run(
        ["docker", "compose", "-f", str(compose_file), "config", "--format", "json"],
        compose_file.parent,
        env,
    )
    config: dict[str, Any] = json.loads(text)
    return config
