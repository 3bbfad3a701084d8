"""`deploy <sha>` and `rollback [sha]`: lock, pull, switch, smoke, SLO check, roll back on failure.

Bad input (an unknown sha, a missing image, a refused registry login, an unreachable host or a
wrong host key) is found before anything that runs is touched, and leaves the VM as it was.
Anything that ends a deploy after that (a failed check, Ctrl-C, SIGTERM, a lost connection, a
bug) rolls back or, on a first deploy, stops what it started; history and a bundle record it,
and when that could not be done the deploy lock stays held with the reason (deploy/outcome.py).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploy import source
from deploy.annotations import Annotations
from deploy.bundle import Bundle
from deploy.canary import CanaryPausedError, WebCanary
from deploy.canary_pause import Paused
from deploy.canary_pause import keep as keep_paused
from deploy.config import Config
from deploy.errors import DeployError
from deploy.gate import Limits, run_gate
from deploy.history import (
    FAILED,
    OK,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    History,
    Record,
    good_releases,
    rollback_target,
)
from deploy.host import Host
from deploy.interrupts import Interrupts
from deploy.lock import DeployLock, LockInfo
from deploy.outcome import Kept, LockKeptError, describe, keep_lock, read_kept
from deploy.plan import REQUIRED_SERVICES, ServiceImage
from deploy.probe import probing
from deploy.rollout import Rollout
from deploy.smoke import smoke
from deploy.ssh import Remote
from deploy.stages import Stages, format_duration
from deploy.target import Parts, TargetKind, current_release, release_images
from deploy.vm import Container, Vm
from deploy.vm_target import VmTarget
from slo import load_spec

LOCK_TTL = timedelta(minutes=30)


def actor() -> str:
    return os.environ.get("DEPLOY_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


def remote_for(config: Config) -> Remote:
    h = config.host
    return Remote(h.address, h.port, h.user, h.identity_file, h.known_hosts, settings=config.ssh)


@dataclass(frozen=True)
class Attempt:
    """One deploy or rollback under way: what its history line is made of."""

    sha: str
    action: str  # deploy | rollback
    previous: str | None
    started: float  # time.monotonic()
    started_at: str

    def record(self, outcome: str, reason: str, stage: str) -> Record:
        duration = round(time.monotonic() - self.started, 1)
        return Record(
            self.sha,
            self.action,
            actor(),
            self.started_at,
            duration,
            outcome,
            reason,
            self.previous or "",
            stage,
        )


class Deployer:
    """The verbs `deploy` and `rollback` on a target (deploy/target.py): a VM's unless told."""

    def __init__(
        self,
        config: Config,
        remote: Host,
        stages: Stages,
        bundle_dir: Path,
        kind: TargetKind = VmTarget,
    ) -> None:
        self.config = config
        self.remote = remote
        self.stages = stages
        self.layout = kind.target_layout(config)
        self.vm = Vm(remote, self.layout)
        self.history = History(remote, self.layout.root)
        self.lock = DeployLock(remote, self.layout.root)
        self.bundle_dir = bundle_dir
        self.bundle: Bundle | None = None
        self.settings_note = ""  # history's record of them (release_settings.summary)
        # Set when this deploy releases web by canary: its steps, judged, for history.
        self.canary: WebCanary | None = None
        self.interrupts = Interrupts(stages.note)
        self.annotations = Annotations.from_config(config.grafana, stages.echo)
        self.rollout = Rollout(
            self.vm,
            self.layout,
            stages,
            health_timeout_s=config.app.health_timeout_s,
            drain_timeout_s=config.app.drain_timeout_s,
            public_url=config.app.public_url,
            on_failed_containers=self._keep_failed,
        )
        self.target = kind(
            Parts(
                config,
                remote,
                stages,
                self.layout,
                self.vm,
                self.rollout,
                lambda: self.bundle,
                self._annotate,
            )
        )

    # --- shared ------------------------------------------------------------------------------
    def current(self) -> str | None:
        return current_release(self.remote, self.layout)

    @contextmanager
    def locked(self, action: str) -> Iterator[None]:
        with self.stages.stage("take the deploy lock"):
            kept = read_kept(self.remote, self.lock.path)
            if kept is not None:
                raise DeployError(f"deploy lock on the VM is {kept.describe()}")
            info = LockInfo.new(actor(), action, datetime.now(UTC), LOCK_TTL)
            self.lock.acquire(info)
        try:
            yield
        except LockKeptError:
            self.stages.note("deploy lock KEPT (`python -m deploy lock status` says why)")
            raise
        except BaseException:
            # The error that ended the deploy is the one to show, not a release that failed
            # on the same lost connection.
            try:
                self.lock.release()
                self.stages.note("deploy lock released")
            except Exception as error:
                self.stages.note(f"deploy lock NOT released: {describe(error)}")
            raise
        self.lock.release()
        self.stages.note("deploy lock released")

    def _annotate(self, event: str, sha: str, text: str) -> None:
        if self.annotations is not None:
            self.annotations.post(event, sha, text)

    def _keep_failed(self, containers: list[Container]) -> None:
        if self.bundle is not None:
            self.bundle.add_containers(containers)

    def release_images(self, sha: str) -> list[ServiceImage]:
        return release_images(self.remote, self.layout, sha)

    # --- deploy ------------------------------------------------------------------------------
    def deploy(self, repo: Path, sha: str) -> None:
        source.commit_exists(repo, sha)
        with tempfile.TemporaryDirectory(prefix="deploy-") as tmp:
            files = Path(tmp)
            with self.stages.stage(f"read release {sha[:12]} from git"):
                images = self.target.read_release(repo, sha, files)
            with self.stages.stage(f"connect to {self.remote.label} (pinned host key)"):
                self.remote.open()
            self.target.check_host()
            with self.interrupts.raising(), self.locked(f"deploy {sha}"):
                self._deploy_locked(sha, files, images)

    def _deploy_locked(self, sha: str, files: Path, images: list[ServiceImage]) -> None:
        started = time.monotonic()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        previous = self.current()
        if previous == sha and self.target.web_is(sha):
            self.stages.note(f"{sha[:12]} already serves: nothing to do")
            return
        self.settings_note = self.target.settings_against(previous, sha)
        with self.stages.stage("log in to the registry (read-only credential)"):
            self._login()
        self._annotate(
            "start", sha, f"deploy by {actor()}, replacing {(previous or 'nothing')[:12]}"
        )
        with self.stages.stage("pull every image by its immutable tag"):
            absent = self._pull(images)
        with self.stages.stage("upload the compose file and non-secret config"):
            self.target.upload(sha, files, images, absent)
        self.bundle = Bundle(self.remote, self.layout, sha)
        self.canary = self.target.canary_for(previous)
        switched: list[str] = []
        try:
            self.target.switch(sha, images, absent, switched, self.canary)
            with self.stages.stage("smoke checks through the public port"):
                for line in smoke(self.config.app.public_url):
                    self.stages.note(f"ok: {line}")
            if self.canary is None:  # a canary was judged at every step instead
                with self.stages.stage("SLO check of the new version"):
                    self._gate(sha)
        except CanaryPausedError as paused:
            state = Paused.of(
                paused,
                sha,
                previous or "",
                started_at,
                weights=self.config.deploy.steps,
                steps=self._canary_steps(),
            )
            keep_paused(self.remote, self.lock.path, state, str(paused), self.stages.note)
            raise
        except BaseException as error:
            # Anything, Ctrl-C and SIGTERM included: after the first change the VM must not be
            # left half-switched and unrecorded.
            attempt = Attempt(sha, "deploy", previous, started, started_at)
            self._deploy_failed(attempt, switched, error)
        self._succeeded(sha, "deploy", started, started_at, previous)

    def _deploy_failed(self, attempt: Attempt, switched: list[str], error: BaseException) -> None:
        """Roll back (or stop a first deploy), record the outcome, and raise one DeployError:
        LockKeptError when the VM was left in a state nobody checked."""
        sha, previous = attempt.sha, attempt.previous
        reason, stage = describe(error), self.stages.failed or "unknown stage"
        self.stages.note(f"FAILED in {stage!r}: {reason}")
        kept = ""
        try:
            self._annotate(
                "rollback", sha, f"failed ({reason}); back to {(previous or 'nothing')[:12]}"
            )
            if previous is None:
                self.target.stop_first_deploy(sha, switched)
                outcome = FAILED
                message = (
                    f"first deploy of {sha[:12]} failed: {reason}; nothing earlier on this VM "
                    "to go back to: what it started was stopped and the VM serves nothing"
                )
            else:
                self._roll_back_after_failure(previous, switched, reason)
                outcome = ROLLED_BACK
                message = (
                    f"deploy of {sha[:12]} failed and was rolled back to {previous[:12]}: {reason}"
                )
        except BaseException as undo_error:
            undo = describe(undo_error)
            self.stages.note(f"FAILED to undo it: {undo}")
            if previous is None:
                outcome = FAILED
                kept = f"first deploy of {sha[:12]} failed ({reason}); stopping it failed: {undo}"
            else:
                outcome = ROLLBACK_FAILED
                kept = (
                    f"deploy of {sha[:12]} failed ({reason}) and its rollback to {previous[:12]} "
                    f"failed: {undo}"
                )
            message = f"{kept}; the deploy lock stays held until someone looks"
        record = replace(attempt.record(outcome, reason, stage), canary=self._canary_steps())
        with self.interrupts.shielded():
            message += self._record_failure(record, kept)
        raise (LockKeptError if kept else DeployError)(message) from error

    def _record_failure(self, record: Record, kept: str) -> str:
        """History, bundle and the kept lock's reason, each tried on its own so one that fails
        does not stop the others; what could not be written is added to the message. A bundle
        the VM did not take (a lost connection) still gets its reason on the controller."""
        record = replace(record, settings=self.settings_note)
        reason = f"{record.stage}: {record.reason}\n" + (f"lock kept: {kept}\n" if kept else "")
        bundle = "none"
        steps: list[tuple[str, Callable[[], object]]] = [
            ("history", lambda: self.history.append(record)),
            ("bundle", lambda: self._save_bundle(reason)),
        ]
        if kept:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            why = Kept(kept, record.sha, record.previous, record.stage, now)
            steps.append(("lock reason", lambda: keep_lock(self.remote, self.lock.path, why)))
        unwritten: list[str] = []
        first_error = ""
        for name, step in steps:
            try:
                step()
            except Exception as error:
                self.stages.note(f"{name} NOT written on the VM: {describe(error)}")
                unwritten.append(name)
                first_error = first_error or describe(error)
        if self.bundle is not None:
            bundle = (
                str(self._local_reason(self.bundle, reason))
                if "bundle" in unwritten
                else self.bundle.path
            )
        trailer = f" (bundle: {bundle})"
        if unwritten:
            trailer += f"; NOT written on the VM: {', '.join(unwritten)} ({first_error})"
        return trailer

    def _local_reason(self, bundle: Bundle, reason: str) -> Path:
        """The bundle's reason on the controller alone, when the VM is out of reach."""
        local = self.bundle_dir / Path(bundle.path).name
        local.mkdir(parents=True, exist_ok=True, mode=0o700)
        (local / "reason.txt").write_text(reason)
        self.stages.note(f"failure bundle on the controller only: {local}")
        return local

    def _login(self) -> None:
        registry = self.config.registry
        if not registry.pull_username or registry.pull_password_file is None:
            self.stages.note("no credential configured: the registry allows anonymous pulls")
            return
        try:
            password = registry.pull_password_file.read_text().strip()
        except OSError as error:
            raise DeployError(
                f"cannot read {registry.pull_password_file}: {error.strerror}"
            ) from error
        self.registry_login(password)

    def registry_login(self, password: str) -> None:
        """The VM's docker logs in as [registry] pull_username with PASSWORD; a refused login
        keeps the login it had (rotate-secret REGISTRY_PASSWORD relies on that)."""
        registry = self.config.registry
        result = self.remote.run(
            [
                "docker",
                "login",
                "--username",
                registry.pull_username,
                "--password-stdin",
                registry.address,
            ],
            check=False,
            stdin=password,
        )
        if not result.ok:
            raise DeployError(
                f"registry {registry.address} refused the login of {registry.pull_username}: "
                f"{result.stderr.strip().splitlines()[-1:]}"
            )

    def _pull(self, images: list[ServiceImage]) -> set[str]:
        absent: set[str] = set()
        done: dict[str, bool] = {}
        for item in images:
            if item.image not in done:
                present = self.remote.run(
                    ["docker", "image", "inspect", item.image], check=False
                ).ok
                pulled = (
                    present
                    or self.remote.run(["docker", "pull", "--quiet", item.image], check=False).ok
                )
                done[item.image] = pulled
                self.stages.note(
                    f"{'have' if present else 'pulled' if pulled else 'MISSING'} {item.image}"
                )
            if not done[item.image]:
                if item.service in REQUIRED_SERVICES:
                    raise DeployError(
                        f"image {item.image} is not in the registry "
                        "(unknown sha, or not released): "
                        "nothing on the VM was changed"
                    )
                absent.add(item.service)
        for service in sorted(absent):
            self.stages.note(f"{service}: no image in this release, runs without it")
        return absent

    def _canary_steps(self) -> list[dict[str, object]]:
        return [step.to_json() for step in self.canary.steps] if self.canary else []

    def _gate(self, sha: str) -> None:
        limits = Limits.from_spec(load_spec(), self.config.gate)
        # Left on the VM if this controller dies while judging: `status` then says so at once.
        self.lock.start_judging(sha, datetime.now(UTC))

        def note_and_renew(text: str) -> None:
            self.lock.renew_judging()
            self.stages.note(text)

        gate = self.config.gate
        evidence = (
            probing(self.config.app.public_url, sha, gate.route, limits, note_and_renew)
            if gate.probes
            else nullcontext(None)
        )
        with self.target.prometheus() as query, evidence as reading:
            verdict, figures, readings = run_gate(
                query, sha, gate.route, limits, note_and_renew, reading=reading
            )
        self.lock.judged()
        if self.bundle is not None:
            self.bundle.write(
                "slo.json",
                json.dumps(
                    {"verdict": vars(verdict), "limits": vars(limits), "readings": readings},
                    indent=2,
                )
                + "\n",
            )
        if not verdict.passed:
            self.target.keep_failed_web()
            raise DeployError(verdict.reason)
        self.stages.note(f"{verdict.reason}: {figures.requests:.0f} requests judged")

    def _roll_back_after_failure(self, previous: str, switched: list[str], reason: str) -> None:
        with self.stages.stage(f"automatic rollback to {previous[:12]}"):
            if not set(switched) - {"redis"}:
                self.stages.note(f"nothing was switched: {previous[:12]} still serves")
                return
            previous_images = self.release_images(previous)
            self.target.switch_back(previous, previous_images, switched)
            for line in smoke(self.config.app.public_url):
                self.stages.note(f"ok: {line}")

    def _save_bundle(self, reason: str) -> str:
        if self.bundle is None:
            return "none"
        self.bundle.write("reason.txt", reason)
        local = self.bundle.fetch(self.bundle_dir)
        self.stages.note(f"failure bundle on the VM: {self.bundle.path} (copied to {local})")
        return self.bundle.path

    def _succeeded(
        self, sha: str, action: str, started: float, started_at: str, previous: str | None
    ) -> None:
        duration = time.monotonic() - started
        with self.interrupts.shielded():
            self.remote.write_file(self.layout.current, sha + "\n")
            record = Record(
                sha,
                action,
                actor(),
                started_at,
                round(duration, 1),
                OK,
                "",
                previous or "",
                canary=self._canary_steps(),
            )
            self.history.append(replace(record, settings=self.settings_note))
        self._annotate(
            "finish" if action == "deploy" else action,
            sha,
            f"{action} done in {format_duration(duration)}",
        )
        with self.stages.stage("keep the last good releases, prune the rest"):
            self._keep_and_prune(sha)
        self.stages.note(f"{action} of {sha[:12]} done in {format_duration(duration)}")

    # --- rollback ----------------------------------------------------------------------------
    def rollback(self, sha: str | None) -> str:
        with self.stages.stage(f"connect to {self.remote.label} (pinned host key)"):
            self.remote.open()
        # The target is chosen under the lock: a deploy that ends meanwhile changes the history.
        target = sha or "the last good release"
        with self.interrupts.raising(), self.locked(f"rollback to {target}"):
            return self._rollback_locked(sha)

    def _rollback_locked(self, sha: str | None) -> str:
        current = self.current()
        target = sha or self._default_rollback_target(current)
        if target is None:
            raise DeployError("no earlier release passed its checks: nothing to roll back to")
        source.check_sha(target)
        images = self.release_images(target)
        missing = [
            i.image
            for i in images
            if i.service in REQUIRED_SERVICES
            and not self.remote.run(["docker", "image", "inspect", i.image], check=False).ok
        ]
        if missing:
            raise DeployError(
                f"images of {target[:12]} are no longer on the VM: {', '.join(missing)}"
            )
        self.settings_note = self.target.settings_against(current, target)
        with self.stages.stage(f"rollback to {target[:12]}"):
            started = time.monotonic()
            started_at = datetime.now(UTC).isoformat(timespec="seconds")
            self.bundle = Bundle(self.remote, self.layout, target)
            try:
                with self.stages.stage(f"switch back to {target[:12]} (zero downtime)"):
                    self.target.switch_back(target, images, ["web", "nginx", "worker", "support"])
                with self.stages.stage("smoke checks through the public port"):
                    for line in smoke(self.config.app.public_url):
                        self.stages.note(f"ok: {line}")
            except BaseException as error:
                self._rollback_failed(
                    Attempt(target, "rollback", current, started, started_at), error
                )
            self._succeeded(target, "rollback", started, started_at, current)
        return target

    def _default_rollback_target(self, current: str | None) -> str | None:
        """The last good release other than the one serving; but when web does not run what
        `current` names, a deploy died half-way (SIGKILL, a lost runner) and never judged what it
        started: `current` is then the last release that passed, the one to go back to."""
        if current is not None and not self.target.web_is(current):
            return current
        return rollback_target(self.history.read(), current)

    def _rollback_failed(self, attempt: Attempt, error: BaseException) -> None:
        """A rollback has nothing to fall back to: record it and keep the lock with why."""
        reason, stage = describe(error), self.stages.failed or "unknown stage"
        kept = f"rollback to {attempt.sha[:12]} failed in {stage!r}: {reason}"
        record = attempt.record(FAILED, reason, stage)
        with self.interrupts.shielded():
            trailer = self._record_failure(record, kept)
        raise LockKeptError(
            f"{kept}; the deploy lock stays held until someone looks{trailer}"
        ) from error

    # --- keep / prune ------------------------------------------------------------------------
    def _keep_and_prune(self, current: str) -> None:
        keep = [current, *[s for s in good_releases(self.history.read()) if s != current]]
        keep = keep[: self.config.app.keep_releases]
        listed = self.remote.run(["ls", "-1", self.layout.releases], check=False).stdout.split()
        for sha in listed:
            if sha in keep:
                continue
            try:
                images = self.release_images(sha)
            except DeployError:
                images = []
            for ref in sorted({i.image for i in images if i.image.endswith(":" + sha)}):
                self.remote.run(["docker", "image", "rm", ref], check=False)
            self.remote.run(["rm", "-rf", self.layout.release_dir(sha)])
            self.stages.note(f"pruned release {sha[:12]}")
        self._pin_images(keep)
        self.stages.note(
            f"kept (safe from `docker image prune -a`): {', '.join(s[:12] for s in keep)}"
        )

    def _pin_images(self, keep: list[str]) -> None:
        """A created, never started container holds each kept image against pruning."""
        label = "org.linkpulse.keep"
        existing = self.vm.docker(
            "ps",
            "--all",
            "--filter",
            f"label={label}",
            "--format",
            '{{.Names}} {{.Label "org.linkpulse.keep"}}',
        )
        have = {
            line.split()[0]: line.split()[1]
            for line in existing.splitlines()
            if len(line.split()) == 2
        }
        for name, sha in have.items():
            if sha not in keep:
                self.vm.docker("rm", name, check=False)
        for sha in keep:
            for item in self.release_images(sha):
                if not item.image.endswith(":" + sha) or item.service == "worker":
                    continue
                name = f"linkpulse-keep-{item.service}-{sha[:12]}"
                if name not in have:
                    self.vm.docker(
                        "create",
                        "--name",
                        name,
                        "--label",
                        f"{label}={sha}",
                        "--network",
                        "none",
                        item.image,
                        check=False,
                    )
