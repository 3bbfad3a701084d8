"""Day two on the rehearsal's VM, continued (issue 17): a settings change released like any other
release, and a test page through the VM's real alert route.

Release H is B with one operator setting changed in deploy/environments/production.toml
(`REDIS_MAXMEMORY`, which the tool applies to the running Redis with CONFIG SET): its deploy
prints the change, history records it, Redis takes it without a restart, and `rollback` to B
brings the previous value back. H goes all at once: what is judged here is the settings path,
and a canary of an unchanged app would only add minutes.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from deploy.release_settings import redis_cli
from rehearsal import infra
from rehearsal.drills import vm_history

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

SETTING = "REDIS_MAXMEMORY"
NEW_BYTES = 300 * 1024**2  # sources.py's release H: "300mb"


def redis_maxmemory() -> int:
    """Asked the way the deploy tool asks (the password Redis requires now, after day two's
    rotation too)."""
    container = redis_container().strip()
    out = infra.on_vm(shlex.join(redis_cli(container, "CONFIG", "GET", "maxmemory"))).split()
    return int(out[-1]) if out and out[-1].isdigit() else -1


def redis_container() -> str:
    return infra.on_vm(
        "docker ps --quiet --no-trunc --filter label=com.docker.compose.service=redis"
    )


def run(runner: Runner) -> None:
    summary, v = runner.summary, runner.summary.versions
    src = ["--source", str(runner.src)]
    before, redis_before = redis_maxmemory(), redis_container()
    h = runner.step("settings deploy H", "deploy", v["H"], *src,
                    "--strategy", "all-at-once")  # fmt: skip
    shown = runner.last_output
    applied = redis_maxmemory()
    records = vm_history()
    recorded = next((r.get("settings", "") for r in reversed(records) if r["sha"] == v["H"]), "")
    summary.notes["settings release recorded"] = recorded
    summary.check(
        "settings release: H's change deploys, shown and recorded",
        h.exit_code == 0 and f"{SETTING}: " in shown and f"{SETTING}=300mb" in recorded,
    )
    summary.check(
        f"settings release: Redis takes H's {SETTING} without a restart",
        applied == NEW_BYTES and redis_container() == redis_before,
    )
    back = runner.step("settings rollback (before H)", "rollback")
    summary.check(
        f"settings release: rollback brings the previous {SETTING} back",
        back.exit_code == 0 and redis_maxmemory() == before,
    )
    page = runner.tool("test-alert")
    summary.notes["test-alert"] = (page.stdout + page.stderr).strip()
    summary.check(
        "test-alert: the VM's alert route reports the page delivered",
        page.returncode == 0 and "delivered" in page.stdout,
    )
    summary.notes[f"settings release {SETTING}"] = {"before": before, "H": applied, "after": before}
