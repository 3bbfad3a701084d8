"""The drill part of the rehearsal (issue 16): the deploy tool's worst days on the VM stand-in,
each under the load loop, each ended by the command an operator would run, then judged by what
the VM shows.

A drill (rehearsal/drill_cases.py) does its damage and its converging commands and says
what it expects: the release serving after it, whether history and a bundle record it, and its
own claims. The harness then reads the VM itself (its containers, `status`, `history`, the lock,
the bundles) and, with the load paused, every link the load made: each must still resolve and
count each served redirect exactly once. One DrillResult per drill goes into the summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from rehearsal import infra

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

ROOT = "/srv/linkpulse"
NONE = "none"
# One drill of each kind (`make test`); REHEARSAL_DRILLS=all (`make rehearse`) runs every drill.
PROFILE_ENV = "REHEARSAL_DRILLS"
SERVING = (
    "docker ps --filter label=com.docker.compose.project=linkpulse "
    "--format '{{.Label \"com.docker.compose.service\"}} {{.Image}}'"
)


@dataclass(frozen=True)
class Expect:
    """What a drill should leave: STATE serving; HISTORY / BUNDLE: a new record / a new failure
    bundle (None: either); CLAIMS: the drill's own, by name."""

    state: str
    history: bool | None = True
    bundle: bool | None = None
    claims: dict[str, bool] = field(default_factory=dict)


@dataclass
class DrillResult:
    name: str
    passed: bool
    state: str
    history_recorded: bool
    bundle: str
    failed_requests: int
    lost_links: int
    clicks_exact: bool
    seconds: float = 0.0
    failed_claims: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """One deploy-tool process a drill ran: its exit status and everything it printed."""

    exit_code: int
    output: str

    @property
    def last_line(self) -> str:
        lines = self.output.strip().splitlines()
        return lines[-1] if lines else ""


class Drills:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.versions = runner.summary.versions
        self.src = ["--source", str(runner.src)]
        # The drills act on an all-at-once deploy's stage lines (web switched, worker switched, the
        # SLO check's readings); a canary's steps switch web by weights and judge it in their own
        # way, and have no drills yet.
        self.deploy_src = [*self.src, "--strategy", "all-at-once"]

    # --- what a drill runs ---------------------------------------------------------------------
    def tool(self, *args: str, config: Path | None = None) -> Run:
        result = self.runner.tool(*args, config=config)
        return Run(result.returncode, result.stdout + result.stderr)

    def interrupted(
        self, args: list[str], trigger: str, signum: int, *, config: Path | None = None
    ) -> Run:
        """The deploy tool with ARGS, sent SIGNUM as soon as it prints a line containing
        TRIGGER (its stage lines): a Ctrl-C, a CI cancel or a lost runner at that moment."""
        return self.watched(args, trigger, lambda proc: proc.send_signal(signum), config=config)

    def watched(
        self,
        args: list[str],
        trigger: str,
        act: Callable[[subprocess.Popen[str]], None],
        *,
        config: Path | None = None,
    ) -> Run:
        argv = [sys.executable, "-m", "deploy", "--config", str(config or self.config), *args]
        self.runner.log.write(f"\n$ {' '.join(argv[2:])}  (drill: acts at {trigger!r})\n")
        env = {**self.runner.env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            argv, cwd=self.runner.repo, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        lines, acted = [], False
        for line in proc.stdout:
            lines.append(line)
            if not acted and trigger in line:
                act(proc)
                acted = True
        code = proc.wait(timeout=600)
        output = "".join(lines) + ("" if acted else f"(drill: {trigger!r} never printed)\n")
        self.runner.log.write(output)
        self.runner.log.flush()
        return Run(code if acted else -999, output)

    @property
    def config(self) -> Path:
        return self.runner.rehearsal.config_file

    def vm(self, script: str, *, check: bool = True) -> str:
        return infra.on_vm(script, check=check)

    # --- what the VM shows ---------------------------------------------------------------------
    def serving(self) -> str:
        """The one release web and worker run (with nginx up), "none", or what is mixed."""
        tags: dict[str, set[str]] = {}
        for line in self.vm(SERVING).splitlines():
            service, _, image = line.partition(" ")
            tags.setdefault(service, set()).add(image.rsplit(":", 1)[-1])
        web, worker = tags.get("web", set()), tags.get("worker", set())
        if not web and not worker:
            return NONE
        if len(web) == 1 and web == worker and "nginx" in tags:
            return next(iter(web))
        return f"mixed: web {sorted(web)}, worker {sorted(worker)}, nginx {'nginx' in tags}"

    def history(self) -> list[dict[str, Any]]:
        return vm_history()

    def bundles(self) -> set[str]:
        return set(self.vm(f"ls -1 {ROOT}/bundles 2>/dev/null || true").split())

    def lock_free(self) -> bool:
        return "free" in self.tool("lock", "status").output.splitlines()

    def current(self) -> str:
        return self.vm(f"cat {ROOT}/current 2>/dev/null || true").strip() or NONE

    def converge(self, *command: str) -> Run:
        """What docs/deploy.md tells an operator after a deploy that is gone: release its lock
        (STALE, so without --force), then COMMAND."""
        released = self.tool("lock", "release")
        self.runner.log.write(f"drill: lock release -> {released.exit_code}\n")
        return self.tool(*command)

    # --- the harness ---------------------------------------------------------------------------
    def run(self, drills: list[tuple[str, Callable[[Drills], Expect]]]) -> None:
        for name, drill in drills:
            result = self._one(name, drill)
            self.runner.summary.drills.append(asdict(result))
            self.runner.summary.check(f"drill {name}", result.passed)
            print(
                f"rehearsal: drill {name}: {'passed' if result.passed else 'FAILED'} in "
                f"{result.seconds}s, serving {result.state[:12]}, {result.failed_requests} "
                f"failed requests, lost links {result.lost_links}, clicks exact "
                f"{result.clicks_exact}"
                + (f"; failed: {result.failed_claims}" if result.failed_claims else ""),
                flush=True,
            )

    def _one(self, name: str, drill: Callable[[Drills], Expect]) -> DrillResult:
        phase = f"drill {name}"
        print(f"rehearsal: {phase}", flush=True)
        load = self.runner.load
        load.set_phase(phase)
        started = time.monotonic()
        history_before, bundles_before = len(self.history()), self.bundles()
        try:
            expect = drill(self)
        except Exception as error:  # the drill's own machinery broke: a failed drill, named
            expect = Expect("(drill raised)", claims={f"{type(error).__name__}: {error}": False})
        load.set_phase(f"after {phase}")
        new_bundles = sorted(self.bundles() - bundles_before)
        history = self.history()[history_before:]
        state, current, lock_free = self.serving(), self.current(), self.lock_free()
        lost, exact = self._links()
        claims = {
            f"serving {expect.state[:12]} (is {state[:40]})": state == expect.state,
            f"current names it (is {current[:12]})": current == expect.state
            or (expect.state == NONE and current in (NONE, *self.versions.values())),
            "the lock is free": lock_free,
            "no link lost": lost == 0,
            "every served redirect counted exactly once": exact,
            **expect.claims,
        }
        if expect.history is not None:
            claims["history records it" if expect.history else "history unchanged"] = (
                bool(history) == expect.history
            )
        if expect.bundle is not None:
            claims["a failure bundle" if expect.bundle else "no failure bundle"] = (
                bool(new_bundles) == expect.bundle
            )
        failed = [claim for claim, ok in claims.items() if not ok]
        return DrillResult(
            name=name,
            passed=not failed,
            state=state,
            history_recorded=bool(history),
            bundle=f"{ROOT}/bundles/{new_bundles[-1]}" if new_bundles else NONE,
            failed_requests=len(load.failures(phase)),
            lost_links=lost,
            clicks_exact=exact,
            seconds=round(time.monotonic() - started, 1),
            failed_claims=failed,
        )

    def _links(self) -> tuple[int, bool]:
        """With no request in flight: links that no longer resolve, and whether every link's
        click count equals its served redirects (one whose answer was lost: at most once more)."""
        load = self.runner.load
        with load.paused():
            served, unconfirmed = dict(load.redirects), dict(load.unconfirmed)
            lost: list[str] = []
            exact = True
            for _ in range(30):  # the worker applies clicks in batches: until it has caught up
                lost, exact = [], True
                for code in list(load.links):
                    answer = requests.get(f"{load.base_url}/api/links/{code}/stats", timeout=10)
                    if answer.status_code != 200:
                        lost.append(code)
                        continue
                    clicks, low = int(answer.json()["clicks"]), served.get(code, 0)
                    exact = exact and low <= clicks <= low + unconfirmed.get(code, 0)
                    time.sleep(0.015)  # inside nginx's per-client read limit
                if not lost and exact:
                    break
                time.sleep(2)
        return len(lost), exact


def vm_history() -> list[dict[str, Any]]:
    """The VM's history records, oldest first (none before the first deploy)."""
    text = infra.docker(
        "exec", infra.VM, "sh", "-c", f"cat {ROOT}/history.jsonl 2>/dev/null || true"
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def is_drill(phase: str) -> bool:
    return phase.startswith(("drill ", "after drill "))


def profile() -> str:
    return os.environ.get(PROFILE_ENV, "short")
