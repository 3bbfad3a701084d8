"""`make upgrade-redis` under the load loop: Redis replaced by a container of another image (a
Redis image bump) on the same volume, with links created before and during. Every acknowledged
link resolves afterwards and every link counts exactly the 302s it served; the gap and the
failed requests are printed and written to build/redis-upgrade.json (docs/operations.md,
"Upgrading Redis and nginx").

The "new" image is the stack's own Redis under another name (no registry answers here): what is
measured is the planned restart itself, which an image that differs in content goes through the
same way."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.stack.stack import REPO_ROOT, Stack, compose, docker
from tests.stack.traffic import Traffic, assert_nothing_lost, more_traffic
from tests.support.commands import run

pytestmark = pytest.mark.stack

FIGURES = REPO_ROOT / "build" / "redis-upgrade.json"
NEXT_IMAGE = "linkpulse-upgrade-test/redis:next"


def running_image() -> str:
    (container,) = compose("ps", "--quiet", "redis").split()
    return docker("inspect", "--format", "{{.Config.Image}}", container).strip()


def upgrade(image: str) -> subprocess.CompletedProcess[str]:
    """`make upgrade-redis` with REDIS_IMAGE=IMAGE (the shell's value beats the env file's)."""
    env = {**os.environ, "REDIS_IMAGE": image}
    return run("make", "--no-print-directory", "upgrade-redis", env=env, timeout=300)


@pytest.fixture
def next_image() -> Iterator[str]:
    """The image to upgrade to; afterwards Redis is back on the stack's own image."""
    original = running_image()
    docker("tag", original, NEXT_IMAGE)
    yield NEXT_IMAGE
    back = upgrade(original)
    assert back.returncode == 0, back.stdout + back.stderr
    docker("image", "rm", NEXT_IMAGE)


def test_a_redis_upgrade_under_load_loses_no_acknowledged_write(
    stack: Stack, next_image: str
) -> None:
    before = running_image()
    with Traffic(stack.app_url, keep_alive=False) as traffic:
        more_traffic(traffic, 30, deadline_s=120)
        links_before = len(traffic.log.created)
        started = time.monotonic()
        result = upgrade(next_image)
        took = time.monotonic() - started
        more_traffic(traffic, 30, deadline_s=120)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert running_image() == next_image != before
    assert f"image {before} -> {next_image}" in result.stdout

    log = traffic.log
    failed_at = [f.at - started for f in log.failures]
    figures = {
        "tool's gap (s)": float(result.stdout.split("answered again ")[1].split("s ")[0]),
        "upgrade-redis took (s)": round(took, 1),
        "failed requests": len(log.failures),
        "failed by status": {str(s): n for s, n in sorted(log.failure_statuses().items())},
        "failures span (s)": round(max(failed_at) - min(failed_at), 1) if failed_at else 0.0,
        "links before": links_before,
        "links during and after": len(log.created) - links_before,
        "redirects served": sum(log.redirects.values()),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))

    assert len(log.created) > links_before, "links were created during and after the restart"
    for failure in log.failures:
        assert failure.status == 503, failure  # a clear answer, never a 500 or no answer
        assert "Traceback" not in failure.body
    assert_nothing_lost(stack, log)
