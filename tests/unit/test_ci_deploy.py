"""scripts/ci-deploy.sh, CI's deploy step: the command it runs for the workflow's inputs, and
that it writes no secret where it cannot run. The deploy tool is a recorder here (argv only)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ci-deploy.sh"
SECRETS = {
    "DEPLOY_CONFIG_TOML": "[host]\naddress = 'vm'\n",
    "DEPLOY_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "DEPLOY_KNOWN_HOSTS": "vm ssh-ed25519 AAAA",
}


def checkout(tmp_path: Path, with_deploy_venv: bool = True) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "ci-deploy.sh")
    if with_deploy_venv:
        python = root / ".venv-deploy" / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text('#!/bin/sh\nprintf "%s\\n" "$@" >"$(dirname "$0")/argv"\n')
        python.chmod(0o755)
    return root


def run(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "scripts" / "ci-deploy.sh")],
        env={"PATH": os.environ["PATH"], **SECRETS, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def argv(root: Path) -> list[str]:
    return (root / ".venv-deploy" / "bin" / "argv").read_text().splitlines()


def test_a_rollback_dispatched_without_a_sha_asks_the_tool_for_the_last_good_release(
    tmp_path: Path,
) -> None:
    root = checkout(tmp_path)
    result = run(root, ACTION="rollback", SHA="")
    assert result.returncode == 0, result.stderr
    config = str(root / "build" / "ci-deploy" / "deploy.toml")
    assert argv(root) == ["-m", "deploy", "--config", config, "rollback"]


@pytest.mark.parametrize("action", ["deploy", "rollback"])
def test_a_chosen_sha_is_passed_as_it_is(tmp_path: Path, action: str) -> None:
    root = checkout(tmp_path)
    assert run(root, ACTION=action, SHA="a" * 40).returncode == 0
    assert argv(root)[-2:] == [action, "a" * 40]


def test_a_deploy_without_a_sha_is_refused(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    result = run(root, ACTION="deploy", SHA="")
    assert result.returncode != 0
    assert "SHA" in result.stderr


def test_without_the_deploy_venv_it_stops_before_writing_any_secret(tmp_path: Path) -> None:
    root = checkout(tmp_path, with_deploy_venv=False)
    result = run(root, ACTION="rollback", SHA="")
    assert result.returncode == 1
    assert "make deploy-venv" in result.stderr
    assert not (root / "build").exists()


def test_the_secrets_are_readable_by_this_user_only(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    assert run(root, ACTION="rollback", SHA="").returncode == 0
    for name in ("deploy.toml", "id_deploy", "known_hosts", "pull-password"):
        assert (root / "build" / "ci-deploy" / name).stat().st_mode & 0o777 == 0o600
