"""The workshop (docs/workshop/en.md; ko.md runs the same commands, tests/unit checks that) run
as a learner types it: one bash, every runnable block in order, against the guide tier's own
stack (the project, env file and ports `make test-guide` exports) and the rehearsal's VM
stand-in. Step 3's edits happen in a scratch worktree, never in this checkout.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rehearsal import infra
from tests.guide import guide
from tests.support.commands import REPO_ROOT

pytestmark = [pytest.mark.guide, pytest.mark.timeout(2400)]

WORKDIR = REPO_ROOT / "build" / "guide"
SCRATCH = WORKDIR / "scratch"
VM_STEP = 5  # the step that starts the VM stand-in (make rehearse-up)


def _stack_settings() -> dict[str, str]:
    """The tier's stack settings (own_project exports them); a run outside it has none."""
    settings = os.environ.get("STACK_ENV_SETTINGS", "")
    if not os.environ.get("COMPOSE_PROJECT_NAME") or not settings:
        pytest.skip("run by `make test-guide`, which gives the guide a stack of its own")
    return dict(item.split("=", 1) for item in settings.split())


def _compose(*args: str) -> None:
    subprocess.run(["docker", "compose", *args], cwd=REPO_ROOT, check=False)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A worktree of HEAD for the steps that edit files, with this checkout's venv."""
    subprocess.run(["git", "worktree", "remove", "--force", str(SCRATCH)], cwd=REPO_ROOT,
                   capture_output=True, check=False)  # fmt: skip
    subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(SCRATCH), "HEAD"],
                   cwd=REPO_ROOT, check=True)  # fmt: skip
    (SCRATCH / ".venv").symlink_to(REPO_ROOT / ".venv")
    try:
        yield SCRATCH
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(SCRATCH)], cwd=REPO_ROOT,
                       check=False)  # fmt: skip


def test_the_workshop_runs_as_written(scratch: Path) -> None:
    ports = _stack_settings()
    local = "http://127.0.0.1"
    values = {
        "LINKPULSE": f"{local}:{ports['HTTP_PORT']}",
        "ALERTS": f"{local}:{ports['ALERT_SINK_PORT']}",
        "VM": f"{local}:{infra.HTTP_PORT}",
    }
    markdown = (REPO_ROOT / guide.GUIDES / "en.md").read_text()
    blocks = guide.runnable(markdown)
    pictures = os.environ.get("GUIDE_PICTURES", "")
    # `make guide-pictures`: taken while the stack and VM still answer, before the clean-up.
    hook = f'.venv/bin/python -m tests.guide.pictures {shlex.quote(pictures)} "$LINKPULSE"'
    # `make test` runs the steps on the local stack (GUIDE_STEPS); the VM's are the rehearsal's.
    chosen = os.environ.get("GUIDE_STEPS", "").split()
    steps = {int(number) for number in chosen} if chosen else None
    script = guide.script(markdown, values, scratch, (10, hook) if pictures else (0, ""), steps)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    (WORKDIR / "guide.sh").write_text(script)
    env = {
        **os.environ,
        # `make loadtest` finds a learner's stack through .env; this one's ports are its own.
        "LOADTEST_HOST": values["LINKPULSE"],
        "LOADTEST_PROMETHEUS_URL": f"{local}:{ports['PROMETHEUS_PORT']}",
    }
    _compose("down", "--volumes", "--remove-orphans")  # a fresh stack: the alias is free
    log_path = WORKDIR / "guide.log"
    with log_path.open("w") as log:
        # Its own session: the visitors' loop and the load run in the background, and whatever
        # the script left running ends with it.
        process = subprocess.Popen(["bash", "-c", script], cwd=REPO_ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            code = process.wait(timeout=2200)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            if steps is None or VM_STEP in steps:  # else the VM is not this run's to remove
                subprocess.run(["make", "--no-print-directory", "rehearse-down"], cwd=REPO_ROOT,
                               check=False)  # fmt: skip
            _compose("down", "--volumes", "--remove-orphans")
    output = log_path.read_text()
    print(output[-6000:])
    assert code == 0, f"the guide stopped (exit {code}); see {log_path}"
    assert not guide.missing(blocks, output, steps), f"see {log_path}"
