"""Prometheus and Alertmanager run for real, from the repository's config files unmodified:
only command-line flags (listen address, storage directory) differ from the images."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.config.tools import ALERTMANAGER_CONFIG, PROMETHEUS_DIR, binary
from tests.support.processes import stop_process
from tests.support.redis_server import free_port


def alertmanager_binary() -> str:
    # Debian calls it prometheus-alertmanager; upstream builds call it alertmanager.
    return shutil.which("alertmanager") or binary(
        "prometheus-alertmanager", "prometheus-alertmanager"
    )


@contextmanager
def running(args: list[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{args[0]} exited: {log.read_text()}")
            try:
                if requests.get(ready_url, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} not ready in 30 s: {log.read_text()}")
            time.sleep(0.1)
        yield
    finally:
        stop_process(process)


@contextmanager
def prometheus(workdir: Path) -> Iterator[str]:
    """The real prometheus.yml and rules; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [
        binary("prometheus", "prometheus"),
        f"--config.file={PROMETHEUS_DIR / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(args, f"{base}/-/ready", workdir / "prometheus.log"):
        yield base


@contextmanager
def alertmanager(workdir: Path) -> Iterator[str]:
    """The real alertmanager.yml, clustering off; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [
        alertmanager_binary(),
        f"--config.file={ALERTMANAGER_CONFIG}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running(args, f"{base}/-/ready", workdir / "alertmanager.log"):
        yield base
