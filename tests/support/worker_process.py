"""`python -m worker` as a real process, started, killed and stopped by the integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.redis_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class WorkerSlot:
    """One `python -m worker` process position; restarted after each kill."""

    def __init__(self, redis_url: str, log_path: Path, **overrides: str) -> None:
        self.redis_url = redis_url
        self.log_path = log_path
        self.overrides = overrides
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WORKER_")},
            "PYTHONPATH": str(REPO_ROOT),
            "REDIS_URL": self.redis_url,
            "WORKER_BATCH_SIZE": "50",
            "WORKER_BATCH_WAIT_MS": "100",
            "WORKER_RECLAIM_IDLE_MS": "200",
            "WORKER_METRICS_PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            **self.overrides,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, stderr=log
            )

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("worker did not start serving /metrics")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.wait_until_serving()
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


def log_records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
