from __future__ import annotations

import subprocess

import pytest

from tests.stack.stack import REPO_ROOT, Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The stack `make test-stack` (or `make up`) started; skipped when none is running."""
    try:
        running = subprocess.run(
            ["docker", "compose", "ps", "--quiet", "--status", "running", "nginx"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        running = ""
    if not running:
        pytest.skip("the compose stack is not running (make test-stack starts it)")
    return Stack.discover()
