"""The drills (issue 16), one function each: the damage, the commands that end it, and what the
VM must show after (rehearsal/drills.py judges it). Each drill starts and ends with one
release serving; an interrupted deploy goes for the other of A and B.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from rehearsal import infra, sources
from rehearsal.drills import NONE, ROOT, Drills, Expect, Run, profile

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

# The deploy's own lines, as it prints them: the moments a drill strikes.
WEB_SWITCHED = "nginx: traffic now goes to"
WORKER_SWITCHED = "switch worker: done"
JUDGING = "    gate "  # the SLO check's first reading: the release serves, unjudged
SWITCH_WEB = "==> switch web"
BLOCK_SSH = "iptables -{} INPUT -p tcp --dport 22 -j DROP"
MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def other(d: Drills, serving: str) -> str:
    return d.versions["B"] if serving == d.versions["A"] else d.versions["A"]


# --- interrupts ------------------------------------------------------------------------------
def sigint_at(trigger: str) -> Callable[[Drills], Expect]:
    """Ctrl-C (or a CI cancel) at TRIGGER: the deploy itself rolls back, records and unlocks."""

    def drill(d: Drills) -> Expect:
        before = d.serving()
        run = d.interrupted(["deploy", other(d, before), *d.deploy_src], trigger, signal.SIGINT)
        return Expect(
            before,
            bundle=True,
            claims={
                f"exit 1, rolled back to {before[:12]}, said in its last line": run.exit_code == 1
                and f"rolled back to {before[:12]}" in run.last_line,
            },
        )

    return drill


def sigkill_at(trigger: str, *, by_deploy: bool = False) -> Callable[[Drills], Expect]:
    """The controller killed at TRIGGER: no cleanup runs. The lock is STALE at once, the next
    deploy is refused, and `lock release` + `rollback` (BY_DEPLOY: `deploy` of the release
    that served) end it."""

    def drill(d: Drills) -> Expect:
        before = d.serving()
        target = other(d, before)
        killed = d.interrupted(["deploy", target, *d.deploy_src], trigger, signal.SIGKILL)
        claims = {"killed there": killed.exit_code == -signal.SIGKILL}
        claims.update(stale_and_refused(d, target))
        command = ["deploy", before, *d.deploy_src] if by_deploy else ["rollback"]
        back = d.converge(*command)
        claims[f"`lock release`, `{command[0]}` converge"] = back.exit_code == 0
        return Expect(before, claims=claims)

    return drill


def stale_and_refused(d: Drills, target: str) -> dict[str, bool]:
    status = d.tool("lock", "status").output
    refused = d.tool("deploy", target, *d.deploy_src)
    return {
        "lock status: STALE at once, its process gone": "STALE" in status and "is gone" in status,
        "the next deploy is refused, naming the stale lock": refused.exit_code == 1
        and "STALE" in refused.output,
    }


def watchdog(d: Drills) -> Expect:
    """The controller killed during the SLO check and never back: `status` and `lock status`
    say at once which release serves unverified; `lock release` + `rollback` end it."""
    before = d.serving()
    target = other(d, before)
    killed = d.interrupted(["deploy", target, *d.deploy_src], JUDGING, signal.SIGKILL)
    said = f"release {target[:12]} is serving unverified since"
    status, lock = d.tool("status").output, d.tool("lock", "status").output
    back = d.converge("rollback")
    return Expect(
        before,
        claims={
            "killed while judging": killed.exit_code == -signal.SIGKILL,
            "status says it serves unverified, its deploy gone": said in status
            and "its deploy is gone" in status,
            "lock status says so too": said in lock and "its deploy is gone" in lock,
            "`lock release`, `rollback` converge": back.exit_code == 0,
        },
    )


# --- the VM out of reach ---------------------------------------------------------------------
def ssh(d: Drills) -> Expect:
    """The VM's SSH port blocked while web is switched: the deploy ends by itself (keepalive),
    exit 1, one line naming the stage; once the port is back, `lock release` + `rollback`."""
    before = d.serving()
    config = d.runner.workdir / "deploy.drill-ssh.toml"
    # Faster than a real VM's defaults, so the drill fits in `make test`; the logic is the same.
    config.write_text(
        d.config.read_text() + "\n[ssh]\nkeepalive_s = 2\nlost_after_s = 8\nconnect_timeout_s = 5\n"
    )

    def cut(proc: subprocess.Popen[str]) -> None:
        d.vm(BLOCK_SSH.format("I"))

    try:
        run = d.watched(["deploy", other(d, before), *d.deploy_src], SWITCH_WEB, cut, config=config)
    finally:
        d.vm(BLOCK_SSH.format("D"), check=False)
    back = d.converge("rollback", before)  # explicit: the cut may have come before any switch
    return Expect(
        before,
        claims={
            "exit 1, its last line names the lost VM and the stage": run.exit_code == 1
            and "lost the VM during '" in run.last_line,
            "`lock release`, `rollback` converge": back.exit_code == 0,
        },
    )


# --- refused before anything changes ---------------------------------------------------------
def broken_nginx_release(d: Drills) -> str:
    """E: B with a conf.d nginx -t refuses, released like A-D (once per run)."""
    if "E" not in d.versions:
        from rehearsal.scenario import build_lock  # noqa: PLC0415 (it imports this module)

        repo = d.runner.src
        subprocess.run(["git", "checkout", "-q", "-B", "rehearsal-e", d.versions["B"]], cwd=repo,
                       check=True)  # fmt: skip
        status = repo / "nginx" / "conf.d" / "status.conf"
        status.write_text(status.read_text() + "rehearsal_broken_directive on;  # release E\n")
        git = ["git", *sources.GIT_IDENTITY]
        subprocess.run([*git, "commit", "-q", "-am", "E: a conf.d nginx -t refuses"], cwd=repo,
                       check=True)  # fmt: skip
        d.versions["E"] = subprocess.run([*git, "rev-parse", "HEAD"], cwd=repo, check=True,
                                         capture_output=True, text=True).stdout.strip()  # fmt: skip
        with build_lock():
            released = d.tool("release", *d.src)
        if released.exit_code != 0:
            raise RuntimeError(f"release E failed: {released.last_line}")
    return d.versions["E"]


def vm_snapshot(d: Drills) -> str:
    return d.vm(
        f"cd {ROOT} && docker ps --format '{{{{.ID}}}} {{{{.Image}}}}' | sort && "
        "cat current nginx/conf.d/* nginx/upstream.d/* && wc -l < history.jsonl"
    )


def nginx(d: Drills) -> Expect:
    """A release whose conf.d nginx -t refuses: refused before anything running changes."""
    release = broken_nginx_release(d)
    before, snapshot = d.serving(), vm_snapshot(d)
    run = d.tool("deploy", release, *d.deploy_src)
    return Expect(
        before,
        history=False,
        bundle=False,
        claims={
            "exit 1: nginx -t refused it, nothing running changed": run.exit_code == 1
            and "nginx -t refused" in run.output,
            "containers, current, live config and history as before": vm_snapshot(d) == snapshot,
        },
    )


def concurrent(d: Drills) -> Expect:
    """Two deploys at the same moment (of E, refused before any change: cheap): exactly one
    takes the lock; the other is refused at once, naming the holder."""
    release = broken_nginx_release(d)
    before = d.serving()
    start = threading.Barrier(2)
    runs: list[Run] = []

    def one() -> None:
        start.wait()
        runs.append(d.tool("deploy", release, *d.deploy_src))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    took = [r for r in runs if "nginx -t refused" in r.output]
    refused = [r for r in runs if "deploy lock on the VM is held" in r.output]
    return Expect(
        before,
        history=False,
        bundle=False,
        claims={"exactly one took the lock, the other was refused": len(took) == len(refused) == 1},
    )


def first(d: Drills) -> Expect:
    """A first deploy (nothing earlier on the VM) that fails its health check: what it started
    is stopped, history says "failed", the VM serves nothing (the next deploy is a first one)."""
    provisioned = d.tool("provision", "--source", str(d.runner.repo))
    run = d.tool("deploy", d.versions["C"], *d.deploy_src)
    history = d.history()
    return Expect(
        NONE,
        bundle=True,
        claims={
            "provision": provisioned.exit_code == 0,
            "exit 1: the health check failed and the VM serves nothing": run.exit_code == 1
            and "health check" in run.last_line
            and "serves nothing" in run.last_line,
            'history: "failed"': bool(history) and history[-1]["outcome"] == "failed",
        },
    )


# --- a rollback that fails -------------------------------------------------------------------
def rollback(d: Drills) -> Expect:
    """The serving release's app image gone from the VM and the registry, then a deploy
    interrupted after web switched: its automatic rollback fails, is recorded, keeps the lock.
    The image pushed again (what `release` of its checkout does), `lock release` + `deploy`
    end it."""
    before = d.serving()
    app = f"{infra.IMAGE_PREFIX}/app:{before}"
    d.vm(f"docker image rm --force {app}")
    delete_from_registry(d.runner.workdir, before)
    target = other(d, before)
    run = d.interrupted(["deploy", target, *d.deploy_src], WEB_SWITCHED, signal.SIGINT)
    lock = d.tool("lock", "status").output
    history = d.history()
    pushed = subprocess.run(["docker", "push", "--quiet", app], env=d.runner.env,
                            capture_output=True, check=False)  # fmt: skip
    # A rollback needs its images on the VM already; a deploy pulls them.
    back = d.converge("deploy", before, *d.deploy_src)
    return Expect(
        before,
        bundle=True,
        claims={
            "exit 1: its rollback failed, the lock stays held": run.exit_code == 1
            and f"rollback to {before[:12]} failed" in run.output
            and "stays held" in run.last_line,
            "lock status says KEPT and why": "KEPT" in lock and "failed" in lock,
            'history: "rollback-failed"': bool(history)
            and history[-1]["outcome"] == "rollback-failed",
            "the image pushed again": pushed.returncode == 0,
            "`lock release`, `deploy` converge": back.exit_code == 0,
        },
    )


def delete_from_registry(workdir: Path, sha: str) -> None:
    url = f"http://127.0.0.1:{infra.REGISTRY_PORT}/v2/linkpulse/app/manifests"
    auth = (infra.PUSH_USER, (workdir / "push-password").read_text().strip())
    head = requests.head(f"{url}/{sha}", headers={"Accept": MANIFESTS}, auth=auth, timeout=10)
    head.raise_for_status()
    digest = head.headers["Docker-Content-Digest"]
    requests.delete(f"{url}/{digest}", auth=auth, timeout=10).raise_for_status()


# --- CI --------------------------------------------------------------------------------------
def ci(d: Drills) -> Expect:
    """A dispatched rollback without a sha, through scripts/ci-deploy.sh with the workflow's
    inputs: it goes to the last release recorded good on the VM, never to a branch's head."""
    current = d.current()
    good = [r["sha"] for r in reversed(d.history()) if r["outcome"] == "ok"]
    expected = next((sha for sha in good if sha != current), NONE)
    run = ci_rollback(d)
    return Expect(
        expected,
        bundle=False,
        claims={f"exit 0, rolled back to {expected[:12]}": run.exit_code == 0
                and f"rolled back to {expected}" in run.output},
    )  # fmt: skip


def ci_rollback(d: Drills) -> Run:
    """scripts/ci-deploy.sh as release.yml runs it for a dispatch with action=rollback and no
    sha, in the rehearsal's checkout (its deploy venv: this one's)."""
    src, work = d.runner.src, d.runner.workdir
    venv = src / ".venv-deploy"
    if not venv.is_symlink():
        venv.symlink_to(d.runner.repo / ".venv")
    config = d.config.read_text().replace('"id_ed25519"', '"id_deploy"')
    env = {
        **d.runner.env,
        "ACTION": "rollback",
        "SHA": "",
        "DEPLOY_CONFIG_TOML": config,
        "DEPLOY_SSH_KEY": (work / "id_ed25519").read_text(),
        "DEPLOY_KNOWN_HOSTS": (work / "known_hosts").read_text(),
        "REGISTRY_PULL_TOKEN": (work / "pull-password").read_text().strip(),
    }
    result = subprocess.run(["bash", "scripts/ci-deploy.sh"], cwd=src, env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    d.runner.log.write(
        f"\n$ scripts/ci-deploy.sh (rollback, no sha)\n{result.stdout}{result.stderr}"
    )
    return Run(result.returncode, result.stdout + result.stderr)


# --- the part --------------------------------------------------------------------------------
# `make test`'s drills (REHEARSAL_DRILLS=short): the cheap ones, about 3 minutes; the lost SSH
# connection, the failed rollback and the failed first deploy (about 4.5 minutes more) run in
# `make test-rehearsal` and `make rehearse` (all).
SHORT = [
    ("concurrent deploys", concurrent),
    ("nginx conf.d refused", nginx),
    ("sigint after web switched", sigint_at(WEB_SWITCHED)),
    ("watchdog: sigkill during the SLO check, the controller never back", watchdog),
    ("ci rollback without a sha", ci),
]
MORE = [
    ("ssh port blocked during the switch", ssh),
    ("rollback fails (image gone)", rollback),
    ("sigkill after web switched", sigkill_at(WEB_SWITCHED)),
    ("sigint after worker switched", sigint_at(WORKER_SWITCHED)),
    ("sigint during the SLO check", sigint_at(JUDGING)),
    ("sigkill after worker switched", sigkill_at(WORKER_SWITCHED)),
    ("sigkill during the SLO check, ended by deploy", sigkill_at(JUDGING, by_deploy=True)),
]


def first_deploy(runner: Runner) -> None:
    """Before the documented first deploy: the VM is fresh."""
    if profile() == "all":
        Drills(runner).run([("first deploy fails its health check", first)])


def run(runner: Runner) -> None:
    runner.summary.notes["drill profile"] = profile()
    drills = SHORT[:3] + (MORE if profile() == "all" else []) + SHORT[3:]
    Drills(runner).run(drills)
