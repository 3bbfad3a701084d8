"""Real gunicorn and worker processes for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import stop_process
from tests.support.redis_server import free_port
from tests.support.web_app import SALT

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def app_env(redis_url: str, public_base_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": public_base_url,
        "VISITOR_HASH_SALT": SALT,
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# A readiness probe must never follow a redirect: the short links point off the machine.
_probe = urllib.request.build_opener(_NoRedirects)


def wait_until_ok(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with _probe.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s: {last_error}")


@contextmanager
def running_web(
    redis_url: str,
    env_overrides: Mapping[str, str] | None = None,
    port: int | None = None,
    app_spec: str = "web:create_app()",
) -> Iterator[str]:
    """gunicorn with the project's config serving `app_spec` on loopback; yields its base URL."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    metrics_dir = tempfile.mkdtemp(prefix="linkpulse-metrics-")
    env = app_env(
        redis_url,
        base_url,
        WEB_BIND=f"127.0.0.1:{port}",
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
        **dict(env_overrides or {}),
    )
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py", app_spec],
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        wait_until_ok(f"{base_url}/healthz")
        yield base_url
    finally:
        stop_process(process, timeout=15)


@contextmanager
def running_worker(
    redis_url: str, env_overrides: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    env = app_env(
        redis_url,
        "http://127.0.0.1",
        WORKER_METRICS_PORT=str(port),
        WORKER_BATCH_WAIT_MS="100",
        **dict(env_overrides or {}),
    )
    process = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env)
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/metrics")
        yield process
    finally:
        stop_process(process, timeout=15)
