"""`deploy promote` and `deploy abort`: the two ends of a canary paused on an inconclusive step
(deploy/canary_pause.py).

promote continues with the remaining steps, judged as in the deploy, then nginx and the worker;
abort routes every request back to the old web, stops the new one and records the deploy as
rolled back. Either takes the paused lock over in place (its holder rewritten, never released in
between), so no other deploy starts on a VM half-way through a canary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from deploy.bundle import Bundle
from deploy.canary import CanaryPausedError, StepReport, WebCanary
from deploy.canary_pause import PAUSED_FILE, Paused, keep, read_paused
from deploy.deployer import LOCK_TTL, Attempt, Deployer, actor
from deploy.errors import DeployError
from deploy.history import ROLLED_BACK
from deploy.lock import LockInfo
from deploy.outcome import KEPT_FILE, PAUSED, LockKeptError
from deploy.vm import Container
from deploy.vm_target import VmTarget

# Everything a canary deploy has switched by its first step (Deployer._switch).
SWITCHED = ("redis", "support", "web")


def promote(deployer: Deployer) -> str:
    """The paused canary through its remaining steps, then nginx and the worker; its sha."""
    paused, old, new = _paused(deployer, "promote")
    started = time.monotonic()
    with deployer.interrupts.raising(), _taken_over(deployer, f"promote canary of {paused.sha}"):
        canary = _restored(deployer, paused)
        deployer.bundle = Bundle(deployer.remote, deployer.layout, paused.sha)
        switched = list(SWITCHED)
        try:
            with (
                _vm(deployer).canary_measure(paused.previous, paused.sha) as measure,
                _vm(deployer).canary_probes(paused.previous, paused.sha) as probes,
            ):
                canary.resume(
                    paused.sha, old, new, paused.remaining, measure=measure, probes=probes
                )
            images = deployer.release_images(paused.sha)
            nginx = next(i.image for i in images if i.service == "nginx")
            _vm(deployer).switch_after_web(paused.sha, nginx, switched)
        except CanaryPausedError as again:
            state = Paused.of(
                again,
                paused.sha,
                paused.previous,
                paused.started_at,
                weights=paused.remaining,
                steps=[step.to_json() for step in canary.steps],
            )
            keep(deployer.remote, deployer.lock.path, state, str(again), deployer.stages.note)
            raise
        except BaseException as error:
            deployer._deploy_failed(_attempt(paused, started), switched, error)
        deployer._succeeded(paused.sha, "deploy", started, paused.started_at, paused.previous)
    return paused.sha


def abort(deployer: Deployer) -> str:
    """Every request back to the old web, the new one stopped, the deploy recorded as rolled
    back; returns the sha that serves."""
    paused, old, new = _paused(deployer, "abort")
    started = time.monotonic()
    with deployer.interrupts.raising(), _taken_over(deployer, f"abort canary of {paused.sha}"):
        canary = _restored(deployer, paused)
        reason = f"canary paused at {paused.weight} % aborted by {actor()}"
        attempt = _attempt(paused, started)
        try:
            canary.abort(old, new)
            deployer._roll_back_after_failure(paused.previous, list(SWITCHED), reason)
        except BaseException as error:
            deployer._deploy_failed(attempt, list(SWITCHED), error)
        deployer.history.append(
            replace(attempt.record(ROLLED_BACK, reason, PAUSED), canary=paused.steps)
        )
    return paused.previous


def _paused(deployer: Deployer, verb: str) -> tuple[Paused, list[Container], list[Container]]:
    """The paused canary and its old and new web, checked before anything changes."""
    with deployer.stages.stage(f"connect to {deployer.remote.label} (pinned host key)"):
        deployer.remote.open()
    _vm(deployer)
    paused = read_paused(deployer.remote, deployer.lock.path)
    if paused is None:
        raise DeployError(
            f"nothing to {verb}: no canary is paused on this VM "
            "(`python -m deploy lock status` says what holds the lock, if anything)"
        )
    web = deployer.vm.containers("web")
    old = [c for c in web if c.tag == paused.previous]
    new = [c for c in web if c.tag == paused.sha]
    if not old or not new:
        raise DeployError(
            f"the paused canary of {paused.sha[:12]} needs both webs running, and "
            f"{len(old)} of {paused.previous[:12]}, {len(new)} of {paused.sha[:12]} run: "
            "look at `python -m deploy status`"
        )
    return paused, old, new


@contextmanager
def _taken_over(deployer: Deployer, action: str) -> Iterator[None]:
    """The paused deploy's lock, now this command's: released at the end unless the command
    leaves the VM unchecked (LockKeptError, a pause again among them)."""
    lock = deployer.lock
    info = LockInfo.new(actor(), action, datetime.now(UTC), LOCK_TTL)
    deployer.remote.write_file(lock.holder_file, info.to_json())
    deployer.remote.run(["rm", "-f", f"{lock.path}/{KEPT_FILE}", f"{lock.path}/{PAUSED_FILE}"])
    try:
        yield
    except LockKeptError:
        deployer.stages.note("deploy lock KEPT (`python -m deploy lock status` says why)")
        raise
    except BaseException:
        lock.release()
        deployer.stages.note("deploy lock released")
        raise
    lock.release()
    deployer.stages.note("deploy lock released")


def _restored(deployer: Deployer, paused: Paused) -> WebCanary:
    canary = _vm(deployer).web_canary()
    canary.steps = [StepReport.from_json(step) for step in paused.steps]
    deployer.canary = canary
    return canary


def _vm(deployer: Deployer) -> VmTarget:
    """A paused canary is the VM's (a Swarm canary is not built); checked before any change."""
    if not isinstance(deployer.target, VmTarget):
        raise DeployError("promote and abort act on a canary paused on a VM (--target vm)")
    return deployer.target


def _attempt(paused: Paused, started: float) -> Attempt:
    return Attempt(paused.sha, "deploy", paused.previous, started, paused.started_at)
