"""The deploy lock on its worst day (issue 16, defects 9 and 16), against a scripted fake VM:
who holds it and from where, when its holder is provably gone, what `lock release` refuses, a
rollback that chooses its target under the lock, and a release left judged by nobody."""

from __future__ import annotations

import contextlib
import math
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

from deploy import cli as cli_module
from deploy import deployer as deployer_module
from deploy.config import parse_config
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.gate import Figures, Verdict
from deploy.lock import JUDGING_LEASE_S, DeployLock, Judging, LockInfo, stale_reason
from deploy.ssh import Remote
from deploy.stages import Stages
from tests.support.fake_host import FakeHost
from tests.unit.test_deploy_logic import GOOD_CONFIG

ROOT = "/srv/linkpulse"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHA = "b" * 40
# Above the largest pid_max Linux allows (2**22): never a running process.
DEAD_PID = 2**22 + 1


def _holder(host: str, pid: int) -> LockInfo:
    return LockInfo(
        "ci@runner",
        f"deploy {SHA}",
        NOW.isoformat(),
        (NOW + timedelta(minutes=30)).isoformat(),
        host,
        pid,
    )


def _alive(pid: int) -> bool:
    return pid == 4242


def _stale(holder: LockInfo, judging: Judging | None = None, minutes: int = 1) -> str:
    return stale_reason(
        holder, judging, NOW + timedelta(minutes=minutes), here="controller-1", alive=_alive
    )


def test_the_holder_records_this_controllers_host_and_pid() -> None:
    info = LockInfo.parse(LockInfo.new("me", "deploy x", NOW, timedelta(minutes=30)).to_json())
    assert (info.host, info.pid) == (socket.gethostname(), os.getpid())


def test_a_dead_holder_on_this_controller_is_stale_at_once_not_after_its_expiry() -> None:
    assert "process 4243 on controller-1 is gone" in _stale(_holder("controller-1", 4243))
    assert _stale(_holder("controller-1", 4242), minutes=45) == ""  # alive: still held


def test_a_holder_elsewhere_is_stale_after_its_expiry_or_its_lapsed_judging_lease() -> None:
    elsewhere = _holder("runner-7", 4243)
    assert _stale(elsewhere, minutes=29) == ""
    assert "expired" in _stale(elsewhere, minutes=31)
    renewed = Judging(SHA, NOW.isoformat(), lease_age_s=5)
    lapsed = Judging(SHA, NOW.isoformat(), lease_age_s=JUDGING_LEASE_S + 1)
    assert _stale(elsewhere, renewed, minutes=45) == ""
    assert "stopped renewing its lease" in _stale(elsewhere, lapsed, minutes=2)


def test_a_lock_without_host_and_pid_from_before_is_judged_by_its_expiry() -> None:
    old = LockInfo.parse(
        '{"owner": "o", "action": "a", "started": "s", "expires": "2026-01-01T11:00:00+00:00"}'
    )
    assert "expired" in stale_reason(old, None, NOW)


def _vm_with_lock(holder: LockInfo) -> FakeHost:
    vm = FakeHost()
    vm.dirs.add(f"{ROOT}/deploy.lock")
    vm.files[f"{ROOT}/deploy.lock/holder.json"] = holder.to_json()
    return vm


def _lock_cli(vm: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    config = tmp_path / "deploy.toml"
    config.write_text(GOOD_CONFIG)
    monkeypatch.setattr(cli_module, "remote_for", lambda _config: vm)
    return CliRunner().invoke(cli_module.cli, ["--config", str(config), "lock", *args])


def test_lock_release_refuses_a_live_holder_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = _vm_with_lock(
        LockInfo.new("ci@runner", f"deploy {SHA}", datetime.now(UTC), timedelta(minutes=30))
    )
    refused = _lock_cli(vm, tmp_path, monkeypatch, "release")
    assert isinstance(refused.exception, DeployError)
    assert "--force" in str(refused.exception)
    assert f"{ROOT}/deploy.lock" in vm.dirs
    forced = _lock_cli(vm, tmp_path, monkeypatch, "release", "--force")
    assert forced.exit_code == 0, forced.output
    assert f"{ROOT}/deploy.lock" not in vm.dirs


def test_lock_status_shows_a_dead_holder_as_stale_with_its_host_and_pid_and_release_frees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = _vm_with_lock(_holder(socket.gethostname(), DEAD_PID))
    shown = _lock_cli(vm, tmp_path, monkeypatch, "status")
    assert shown.output.startswith(
        f"STALE (its process {DEAD_PID} on {socket.gethostname()} is gone)"
    )
    released = _lock_cli(vm, tmp_path, monkeypatch, "release")
    assert released.exit_code == 0, released.output
    assert f"{ROOT}/deploy.lock" not in vm.dirs


def _deployer(vm: FakeHost, tmp_path: Path) -> Deployer:
    config = parse_config(GOOD_CONFIG, tmp_path / "deploy.toml")
    return Deployer(config, cast(Remote, vm), Stages(echo=lambda _line: None), tmp_path)


def test_rollback_chooses_its_target_only_under_the_lock(tmp_path: Path) -> None:
    vm = _vm_with_lock(
        LockInfo.new("ci@runner", f"deploy {SHA}", datetime.now(UTC), timedelta(minutes=30))
    )
    with pytest.raises(DeployError, match="deploy lock on the VM is held"):
        _deployer(vm, tmp_path).rollback(None)
    assert ["cat", f"{ROOT}/history.jsonl"] not in vm.argvs
    assert ["cat", f"{ROOT}/current"] not in vm.argvs


def _gate_with(
    deployer: Deployer,
    monkeypatch: pytest.MonkeyPatch,
    verdict_from: Callable[[Callable[[str], None]], Verdict],
) -> None:
    @contextlib.contextmanager
    def prometheus() -> Iterator[Callable[[str], float]]:
        yield lambda _query: math.nan

    def run_gate(
        _query: Any,
        _sha: str,
        _route: str,
        _limits: Any,
        echo: Callable[[str], None],
        reading: Any = None,
    ) -> Any:
        return verdict_from(echo), Figures(500, 0, 0.02), []

    monkeypatch.setattr(deployer.target, "prometheus", prometheus)
    monkeypatch.setattr(deployer_module, "run_gate", run_gate)
    # No public port here to send probes to (deploy/probe.py has tests of its own).
    monkeypatch.setattr(deployer_module, "probing", lambda *_args: contextlib.nullcontext())
    deployer._gate(SHA)


def test_the_slo_check_records_what_it_judges_renews_its_lease_and_clears_it_at_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = FakeHost()
    deployer = _deployer(vm, tmp_path)
    deployer.lock.acquire(LockInfo.new("me", f"deploy {SHA}", NOW, timedelta(minutes=30)))
    seen: list[Judging | None] = []

    def judge(echo: Callable[[str], None]) -> Verdict:
        seen.append(deployer.lock.judging())
        vm.clock += 30
        echo("gate 30s/120s: ...")
        seen.append(deployer.lock.judging())
        return Verdict(True, True, "passed")

    _gate_with(deployer, monkeypatch, judge)
    assert [j.sha if j else None for j in seen] == [SHA, SHA]
    assert [j.lease_age_s if j else None for j in seen] == [0, 0]  # renewed at each reading
    assert deployer.lock.judging() is None


def test_a_controller_gone_during_the_slo_check_leaves_status_saying_so_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = FakeHost()
    deployer = _deployer(vm, tmp_path)
    dead = LockInfo(
        **{**vars(LockInfo.new("me", f"deploy {SHA}", NOW, timedelta(minutes=30))), "pid": DEAD_PID}
    )
    deployer.lock.acquire(dead)

    def killed(_echo: Callable[[str], None]) -> Verdict:
        raise SystemExit(137)  # nothing after this runs, as under SIGKILL

    with pytest.raises(SystemExit):
        _gate_with(deployer, monkeypatch, killed)
    state = DeployLock(cast(Remote, vm), ROOT).state(NOW + timedelta(minutes=1))
    assert state is not None
    lines = state.lines()
    assert lines[0].startswith("STALE")
    assert lines[1].startswith(f"release {SHA[:12]} is serving unverified since 20")
    assert ", its deploy is gone" in lines[1]
