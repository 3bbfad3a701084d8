"""Locating the real monitoring and proxy binaries the config tier runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO_ROOT / "nginx"
MONITORING_DIR = REPO_ROOT / "monitoring"
PROMETHEUS_DIR = MONITORING_DIR / "prometheus"
ALERTMANAGER_CONFIG = MONITORING_DIR / "alertmanager" / "alertmanager.yml"
GRAFANA_DIR = MONITORING_DIR / "grafana"
RUNBOOKS_DIR = REPO_ROOT / "docs" / "runbooks"


def binary(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise RuntimeError(f"{name} not found: run `make deps` (apt-get install {package})")
    return path


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool; the caller asserts on returncode and gets stdout+stderr in the message."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
