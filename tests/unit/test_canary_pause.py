"""A canary paused on an inconclusive step ([deploy] on_inconclusive = "pause") on the scripted
fake host: the split and the lock stay, with a reason `lock status` and `status` print, until
`deploy promote` continues it or `deploy abort` ends it; bad input changes nothing."""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deploy import canary_resume
from deploy import cli as cli_module
from deploy.config import DeploySettings
from deploy.errors import DeployError
from deploy.lock import DeployLock
from deploy.outcome import LockKeptError
from deploy.status import lock_report
from tests.unit.test_deploy_canary import QUIET, CanaryVm, _weights, side
from tests.unit.test_deploy_failures import CONFIG, ROOT, A, B

HEALTHY = (side(400), side(120))


@pytest.fixture
def vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CanaryVm:
    vm = CanaryVm(tmp_path, monkeypatch)
    vm.deploy(A)  # a first deploy: all at once
    return vm


@pytest.fixture
def paused(vm: CanaryVm) -> CanaryVm:
    """B paused at 10 %: users too few, no probes."""
    vm.config = replace(
        vm.config, deploy=DeploySettings(step_max_wait="1m", on_inconclusive="pause")
    )
    vm.script = lambda window_s: QUIET
    with pytest.raises(LockKeptError) as kept:
        vm.deploy(B)
    assert f"canary of {B[:12]} paused at 10 %: inconclusive" in str(kept.value)
    vm.upstreams.clear()
    return vm


def _cli(vm: CanaryVm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    config = tmp_path / "cli.toml"
    config.write_text(CONFIG)
    # `lock` opens the host in a with-block, the deploy verbs hand it to the Deployer.
    host = nullcontext(vm.host) if args[0] == "lock" else vm.host
    monkeypatch.setattr(cli_module, "remote_for", lambda _config: host)
    # No SLO check is judging (the fake host has no shell for the lease's age).
    monkeypatch.setattr(DeployLock, "judging", lambda self: None)
    return CliRunner().invoke(cli_module.cli, ["--config", str(config), *args])


def test_a_paused_canary_keeps_its_split_and_the_lock_with_its_reason(
    paused: CanaryVm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = paused
    assert vm.serving("web") == {A, B}, "both webs keep serving their share"
    assert vm.serving("worker") == {A}
    assert vm.current == A
    assert vm.locked
    reason = f"PAUSED since .*: canary of {B[:12]} paused at 10 %: inconclusive"
    status = _cli(vm, tmp_path, monkeypatch, "lock", "status")
    assert re.search(reason, status.output), status.output
    assert "deploy promote" in status.output
    assert re.search(reason, "\n".join(lock_report(vm.host, ROOT)))  # type: ignore[arg-type]
    refused = _cli(vm, tmp_path, monkeypatch, "lock", "release")
    assert "refusing" in str(refused.exception)
    assert vm.locked
    assert "PAUSED" in vm.failing_deploy(B), "no other deploy starts half-way through a canary"


def test_promote_continues_the_remaining_steps_and_judges_them(paused: CanaryVm) -> None:
    vm = paused
    vm.script = lambda window_s: HEALTHY
    assert canary_resume.promote(vm.deployer()) == B
    assert [_weights(u) for u in vm.upstreams] == [[1, 1], []], "50 %, then all to the new web"
    assert vm.serving("web") == {B}
    assert vm.serving("worker") == {B}
    assert vm.current == B
    assert not vm.locked
    record = vm.last_record
    assert record["outcome"] == "ok"
    steps = record["canary"]
    assert isinstance(steps, list)
    assert [(s["weight"], s["verdict"]) for s in steps] == [(10, "INCONCLUSIVE"), (50, "PASS")]


def test_a_step_failing_after_promote_rolls_back_like_a_deploy(paused: CanaryVm) -> None:
    vm = paused
    vm.script = lambda window_s: (side(400, at_ms=3), side(120, at_ms=45))
    with pytest.raises(DeployError, match="canary FAIL at 50 %"):
        canary_resume.promote(vm.deployer())
    assert vm.serving("web") == {A}
    assert not vm.locked
    assert vm.last_record["outcome"] == "rolled-back"


def test_abort_routes_everything_back_and_records_it(paused: CanaryVm) -> None:
    vm = paused
    assert canary_resume.abort(vm.deployer()) == A
    assert _weights(vm.upstreams[-1]) == []
    assert vm.serving("web") == {A}, "the new web stopped"
    assert vm.current == A
    assert not vm.locked
    record = vm.last_record
    assert (record["sha"], record["outcome"]) == (B, "rolled-back")
    assert str(record["reason"]).startswith("canary paused at 10 % aborted by ")


@pytest.mark.parametrize("verb", ["promote", "abort"])
def test_nothing_paused_is_one_line_and_changes_nothing(
    vm: CanaryVm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    files = dict(vm.host.files)
    result = _cli(vm, tmp_path, monkeypatch, verb)
    assert isinstance(result.exception, DeployError)
    message = str(result.exception)
    assert message.startswith(f"nothing to {verb}: no canary is paused")
    assert "\n" not in message
    assert vm.host.files == files
    assert not vm.locked


def test_the_default_still_aborts_an_inconclusive_step(vm: CanaryVm) -> None:
    vm.script = lambda window_s: QUIET
    assert "canary INCONCLUSIVE at 10 %" in vm.failing_deploy(B)
    assert not vm.locked
