"""The restore drill on the stack tier's own project: `make backup`, more data, the Redis volume
lost, `make restore`; then every link of the backup resolves and every count is the backup's
counted clicks plus the ones still in the stream then, each counted exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM
from tests.stack.stack import Stack, compose, docker, pending_clicks, redis_cli, up, wait_until
from tests.stack.traffic import Traffic
from tests.support.commands import REPO_ROOT, run

pytestmark = pytest.mark.stack

# The drill's figures, for docs/operations.md.
FIGURES = REPO_ROOT / "build" / "backup-drill.json"
# A consumer that takes entries and never acknowledges them: a worker that died mid-batch.
DEAD_CONSUMER = "restore-drill-dead"


def make(*args: str) -> tuple[int, list[str]]:
    done = run("make", "--no-print-directory", *args, timeout=600)
    return done.returncode, (done.stdout + done.stderr).strip().splitlines()


def group_lag() -> int:
    """Entries of the stream no consumer of the group has been given yet."""
    lines = redis_cli(f"XINFO GROUPS {CLICK_STREAM}").split()
    return int(lines[lines.index("lag") + 1])


def lose_the_redis_volume() -> None:
    """Redis's container and its volume removed, then the stack up again: a Redis with nothing."""
    redis_id = compose("ps", "--quiet", "redis").strip()
    mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", redis_id))
    volume = next(mount["Name"] for mount in mounts if mount["Destination"] == "/data")
    compose("rm", "--stop", "--force", "redis")
    docker("volume", "rm", volume)
    up()


@pytest.fixture
def stack_whole_after() -> Iterator[None]:
    """Every service running again after the drill, whatever it stopped or removed on the way."""
    yield
    up()


@pytest.mark.usefixtures("stack_whole_after")
def test_restore_drill_brings_back_every_link_and_counts_unprocessed_clicks_once(
    stack: Stack, tmp_path: Path
) -> None:
    # Links and clicks under load; half way the worker stops, so clicks stay in the stream.
    with Traffic(stack.app_url) as traffic:
        wait_until(lambda: traffic.log.successes["redirect"] >= 60, "60 redirects served")
        compose("stop", "worker")
        wait_until(lambda: traffic.log.successes["redirect"] >= 120, "60 redirects more")
    assert traffic.log.failures == []
    served = {code: traffic.log.redirects[code] for code in traffic.log.created}
    redis_cli(f"XREADGROUP GROUP {CLICK_GROUP} {DEAD_CONSUMER} COUNT 5 STREAMS {CLICK_STREAM} '>'")
    assert pending_clicks() >= 5
    counted_then = {code: stack.clicks(code) for code in served}
    unprocessed = sum(served.values()) - sum(counted_then.values())
    assert unprocessed >= 5

    started = time.monotonic()
    status, lines = make("backup", f"BACKUP_DIR={tmp_path}")
    backup_s = time.monotonic() - started
    assert status == 0, lines
    backup = Path(lines[-1])
    assert backup.parent == tmp_path
    assert backup.name.startswith("linkpulse-")
    assert (tmp_path / f"{backup.name}.sha256").is_file()

    later = stack.create_link("https://example.com/after-the-backup")["code"]
    assert stack.click(later).status_code == 302

    status, lines = make("restore", f"BACKUP={backup}")
    assert status != 0
    refusals = [line for line in lines if line.startswith("restore: ")]
    assert len(refusals) == 1, lines
    assert "Redis is not empty: restoring would lose" in refusals[0]
    assert stack.click(later).status_code == 302  # refused: nothing changed

    lose_the_redis_volume()
    started = time.monotonic()
    status, lines = make("restore", f"BACKUP={backup}")
    restore_s = time.monotonic() - started
    assert status == 0, lines
    FIGURES.parent.mkdir(exist_ok=True)
    figures = {
        "links": len(served),
        "clicks": sum(served.values()),
        "unprocessed": unprocessed,
        "backup_bytes": backup.stat().st_size,
        "backup_s": round(backup_s, 1),
        "restore_s": round(restore_s, 1),
        "restore_said": lines[-1],
    }
    FIGURES.write_text(json.dumps(figures, indent=1) + "\n")

    wait_until(
        lambda: pending_clicks() == 0 and group_lag() == 0,
        "the restored stream worked off",
        deadline_s=180,
    )
    assert {code: stack.clicks(code) for code in served} == served
    not_found = requests.get(f"{stack.app_url}/api/links/{later}", timeout=10)
    assert not_found.status_code == 404
    for code in served:
        assert stack.click(code).status_code == 302, code
