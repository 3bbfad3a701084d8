"""scripts/audit-deps.sh decides pass, fail or a loud skip from pip-audit's answer: never a
silent pass when nothing could be checked. A stand-in pip-audit plays each answer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "audit-deps.sh"
LOCKS = len(list((REPO_ROOT / "requirements").glob("*.lock")))

CLEAN = (0, "No known vulnerabilities found")
VULNERABLE = (
    1,
    "Found 1 known vulnerability in 1 package\n"
    "Name  Version ID             Fix Versions\n"
    "flask 3.1.3   GHSA-xxxx-xxxx 3.1.4",
)
UNREACHABLE = (
    1,
    "ERROR:pip_audit._cli:flask: Dependency not found on PyPI and could not be audited",
)


def run_audit(
    tmp_path: Path, answer: tuple[int, str], **env: str
) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "pip-audit"
    fake.write_text(f"#!/bin/sh\ncat <<'OUT'\n{answer[1]}\nOUT\nexit {answer[0]}\n")
    fake.chmod(0o755)
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "PIP_AUDIT": str(fake), "AUDIT_REQUIRED": "0", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_clean_audit_passes(tmp_path: Path) -> None:
    result = run_audit(tmp_path, CLEAN)
    assert result.returncode == 0
    assert result.stdout.count("no known vulnerabilities") == LOCKS


@pytest.mark.parametrize("required", ["0", "1"])
def test_a_known_vulnerability_fails(tmp_path: Path, required: str) -> None:
    result = run_audit(tmp_path, VULNERABLE, AUDIT_REQUIRED=required)
    assert result.returncode == 1
    assert "GHSA-xxxx-xxxx" in result.stderr


def test_an_unreachable_service_is_a_loud_skip(tmp_path: Path) -> None:
    result = run_audit(tmp_path, UNREACHABLE)
    assert result.returncode == 0
    assert result.stderr.count("SKIPPED") == LOCKS
    assert "Nothing was checked" in result.stderr
    assert "no known vulnerabilities" not in result.stdout


def test_an_unreachable_service_fails_where_the_audit_is_required(tmp_path: Path) -> None:
    result = run_audit(tmp_path, UNREACHABLE, AUDIT_REQUIRED="1")
    assert result.returncode == 1
    assert "FAILED" in result.stderr
