"""`make rotate-secret NAME=GRAFANA_ADMIN_PASSWORD` on the running stack (docs/operations.md).

Where Grafana runs: the old password is refused, the new one accepted, and the provisioned
dashboards are still served. The offline stack runs without Grafana (docker-compose.offline.yml):
there the command is refused in one line and the env file is left as it was."""

from __future__ import annotations

import subprocess

import pytest
import requests

from deploy.rotation import NO_GRAFANA
from tests.stack.stack import REPO_ROOT, compose, env_file, published

pytestmark = pytest.mark.stack

DASHBOARDS = sorted((REPO_ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json"))


def grafana_runs() -> bool:
    return "grafana" in compose("ps", "--services", "--status", "running").split()


def admin_password() -> str:
    for line in env_file().read_text().splitlines():
        if line.startswith("GRAFANA_ADMIN_PASSWORD="):
            return line.partition("=")[2]
    raise AssertionError(f"GRAFANA_ADMIN_PASSWORD is not in {env_file()}")


def rotate() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "rotate-secret", "NAME=GRAFANA_ADMIN_PASSWORD"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_grafana_takes_the_new_admin_password_and_refuses_the_old() -> None:
    if not grafana_runs():
        pytest.skip("this stack runs without Grafana (the offline path)")
    base = f"http://{published('grafana', 3000)}"
    old = admin_password()
    assert requests.get(f"{base}/api/user", auth=("admin", old), timeout=10).status_code == 200
    result = rotate()
    assert result.returncode == 0, result.stderr
    new = admin_password()
    assert new != old
    assert requests.get(f"{base}/api/user", auth=("admin", old), timeout=10).status_code == 401
    assert requests.get(f"{base}/api/user", auth=("admin", new), timeout=10).status_code == 200
    search = requests.get(
        f"{base}/api/search", params={"type": "dash-db"}, auth=("admin", new), timeout=10
    )
    assert search.status_code == 200
    assert len(search.json()) == len(DASHBOARDS)


def test_without_grafana_the_rotation_is_one_line_and_changes_nothing() -> None:
    if grafana_runs():
        pytest.skip("Grafana runs in this stack")
    before = env_file().read_bytes()
    result = rotate()
    assert result.returncode != 0
    assert f"rotate-secret: {NO_GRAFANA}\n" in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("rotate-secret")] == [
        f"rotate-secret: {NO_GRAFANA}"
    ]
    assert env_file().read_bytes() == before
