"""The deploy's worst day, in-process: Deployer driven through a scripted fake host that fails
at a chosen command (tests/support/fake_host.py). Each test ends by checking what serves,
`current`, history, the lock and the bundle: every path ends in one known, recorded state."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

import deploy.deployer as deployer_module
from deploy import rollout, source
from deploy.config import parse_config
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.history import parse_history
from deploy.outcome import read_kept
from deploy.plan import ServiceImage
from deploy.stages import Stages
from tests.support.fake_host import SIGTERM, FakeHost

PREFIX = "registry.example/team/linkpulse"
ROOT = "/srv/linkpulse"
A, B = "a" * 40, "b" * 40
CONFIG = f"""
[host]
address = "203.0.113.7"
port = 22
user = "deploy"
identity_file = "id"
known_hosts = "known_hosts"

[registry]
image_prefix = "{PREFIX}"

[app]
public_url = "http://links.invalid"
remote_dir = "{ROOT}"

# These paths are the switch's (a canary's steps: tests/unit/test_deploy_canary.py).
[deploy]
strategy = "all-at-once"
"""
BUILT = ("web", "worker", "nginx", "prometheus", "alertmanager")


def release_images(sha: str, extra: tuple[str, ...] = ()) -> list[ServiceImage]:
    built = [ServiceImage(s, f"{PREFIX}/{s}:{sha}", f"{PREFIX}/{s}:{sha}", True) for s in BUILT]
    mirrored = ServiceImage("redis", f"{PREFIX}/redis:7.4", "redis:7.4", False)
    return [*built, *(ServiceImage(s, f"{PREFIX}/{s}:{sha}", s, True) for s in extra), mirrored]


class Vm:
    """A Deployer on a fake host, with the release's files, smoke and SLO checks scripted."""

    root = ROOT

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.host = FakeHost()
        self.output: list[str] = []
        self.slo_fails: set[str] = set()
        self.extra: dict[str, tuple[str, ...]] = {}
        self.bundles = tmp_path / "bundles"
        self.config = parse_config(CONFIG, tmp_path / "deploy.toml")
        monkeypatch.setattr(source, "commit_exists", lambda repo, sha: None)
        monkeypatch.setattr(deployer_module, "smoke", lambda *args, **kwargs: ["fake smoke"])
        monkeypatch.setattr(rollout.time, "sleep", lambda seconds: None)

    def deployer(self) -> Deployer:
        deployer = Deployer(self.config, self.host, Stages(echo=self.output.append), self.bundles)
        deployer.target.read_release = self._read_release  # type: ignore[method-assign]
        deployer._gate = self._gate  # type: ignore[method-assign]
        return deployer

    def _read_release(self, repo: Path, sha: str, files: Path) -> list[ServiceImage]:
        (files / "nginx" / "conf.d").mkdir(parents=True)
        (files / "docker-compose.yml").write_text(f"# {sha}\n")
        (files / "nginx" / "conf.d" / "default.conf").write_text(f"# conf of {sha}\n")
        return release_images(sha, self.extra.get(sha, ()))

    def _gate(self, sha: str) -> None:
        if sha in self.slo_fails:
            raise DeployError("SLO check failed: 5xx ratio 0.2 > 0.01")

    def deploy(self, sha: str) -> None:
        self.deployer().deploy(Path("."), sha)

    def failing_deploy(self, sha: str) -> str:
        with pytest.raises(DeployError) as failure:
            self.deploy(sha)
        return str(failure.value)

    # --- what the VM is left in --------------------------------------------------------------
    def serving(self, service: str) -> set[str]:
        return self.host.serving(service)

    @property
    def current(self) -> str:
        return self.host.files.get(f"{self.root}/current", "").strip()

    @property
    def last_record(self) -> dict[str, object]:
        return vars(parse_history(self.host.files[f"{self.root}/history.jsonl"])[-1])

    @property
    def locked(self) -> bool:
        return f"{self.root}/deploy.lock" in self.host.dirs

    @property
    def kept(self) -> dict[str, str]:
        return dict(json.loads(self.host.files[f"{self.root}/deploy.lock/kept.json"]))

    def bundle_reason(self) -> str:
        reasons = [t for p, t in self.host.files.items() if p.endswith("/reason.txt")]
        assert len(reasons) == 1, "one bundle on the VM"
        return reasons[0]


@pytest.fixture
def vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vm:
    return Vm(tmp_path, monkeypatch)


@pytest.fixture
def serving_a(vm: Vm) -> Vm:
    vm.deploy(A)
    assert vm.serving("web") == {A}
    return vm


class SigtermNotHandled(Exception):
    """What SIGTERM did in a test before the deploy handled it."""


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises SigtermNotHandled unless the deploy installed its own handler (instead of
    ending the test run, as the default handler would)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SigtermNotHandled

    previous = signal.signal(signal.SIGTERM, handler)
    yield
    assert signal.getsignal(signal.SIGTERM) is handler, "the deploy restores the handler it found"
    signal.signal(signal.SIGTERM, previous)


def assert_back_on_a(vm: Vm) -> None:
    for service in ("web", "worker", "nginx", "prometheus", "alertmanager"):
        assert vm.serving(service) == {A}, service
    assert vm.current == A
    assert not vm.locked


# --- defect 3: any exception after the first change rolls back ---------------------------------
def test_ctrl_c_right_after_nginx_switched_to_the_new_web_rolls_back_and_records(
    serving_a: Vm,
) -> None:
    vm = serving_a
    vm.host.fail_at("nginx -s reload", KeyboardInterrupt(), after=True)
    message = vm.failing_deploy(B)
    assert "interrupted by SIGINT" in message
    assert f"rolled back to {A[:12]}" in message
    assert_back_on_a(vm)
    record = vm.last_record
    assert (record["sha"], record["outcome"], record["previous"]) == (B, "rolled-back", A)
    assert record["stage"] == "switch web (zero downtime)"
    assert "interrupted by SIGINT" in vm.bundle_reason()
    assert any(vm.bundles.iterdir()), "the bundle is copied to the controller"


def test_sigterm_from_a_ci_cancel_during_the_worker_switch_rolls_back(
    serving_a: Vm, sigterm_raises: None
) -> None:
    vm = serving_a
    vm.host.on("--scale worker=", SIGTERM, after=True)
    message = vm.failing_deploy(B)
    assert "interrupted by SIGTERM" in message
    assert_back_on_a(vm)
    assert vm.last_record["outcome"] == "rolled-back"
    assert vm.last_record["stage"] == "switch worker"


def test_an_sftp_oserror_while_switching_rolls_back(serving_a: Vm) -> None:
    vm = serving_a
    vm.host.fail_at(f"write {ROOT}/nginx/upstream.d/web.conf", OSError("Socket is closed"))
    message = vm.failing_deploy(B)
    assert "OSError: Socket is closed" in message
    assert_back_on_a(vm)
    assert vm.last_record["outcome"] == "rolled-back"


def test_the_new_worker_takes_over_what_the_old_one_left_once_it_has_exited(
    serving_a: Vm,
) -> None:
    vm = serving_a
    old = vm.host.running("worker")[0].id
    vm.host.answer("worker.take_over", exit_code=1, stderr="NOAUTH")
    vm.deploy(B)  # a failed take-over leaves the entries to the reclaim; the deploy goes on
    new = vm.host.running("worker")[0].id
    commands = vm.host.commands
    stopped = commands.index(f"docker stop --time 30 {old}")
    assert commands.index(f"docker exec {new} python -m worker.take_over {old}-") > stopped
    assert vm.serving("worker") == {B}
    assert any("take-over of" in line and "NOAUTH" in line for line in vm.output)


def test_a_failure_before_anything_switched_records_without_touching_what_serves(
    serving_a: Vm,
) -> None:
    vm = serving_a
    vm.host.unhealthy.add(("web", B))
    message = vm.failing_deploy(B)
    assert "health check failed" in message
    assert_back_on_a(vm)
    assert vm.last_record["outcome"] == "rolled-back"


# --- defect 5: a failed automatic rollback is recorded and keeps the lock ----------------------
def test_a_failed_rollback_is_recorded_and_keeps_the_lock_with_its_reason(serving_a: Vm) -> None:
    vm = serving_a
    vm.slo_fails.add(B)
    vm.host.fail_at(
        f"--project-directory {ROOT}/releases/{A}",
        DeployError(f"on the VM: docker compose up: no such image {PREFIX}/web:{A}"),
    )
    message = vm.failing_deploy(B)
    assert f"rollback to {A[:12]} failed" in message
    assert "no such image" in message
    record = vm.last_record
    assert (record["sha"], record["previous"], record["outcome"]) == (B, A, "rollback-failed")
    assert record["stage"] == "SLO check of the new version"
    assert "SLO check failed" in vm.bundle_reason()
    assert vm.locked
    assert "no such image" in vm.kept["reason"]
    assert vm.kept["stage"] == "SLO check of the new version"

    refused = vm.failing_deploy(A)
    assert "KEPT" in refused
    assert "no such image" in refused


def test_a_lost_connection_shows_the_deploy_s_error_not_the_lock_release(serving_a: Vm) -> None:
    vm = serving_a
    vm.host.disconnect_at("nginx -s reload", after=True)
    message = vm.failing_deploy(B)
    assert message.startswith(f"deploy of {B[:12]} failed (")
    assert "Socket is closed" in message
    assert "rm -rf" not in message, "not the lock release's error"
    assert "NOT written on the VM: history, bundle, lock reason" in message
    bundle = message.split("(bundle: ")[1].split(")")[0]
    assert "Socket is closed" in (Path(bundle) / "reason.txt").read_text()
    assert vm.locked, "nothing could release it: the next deploy finds it held"


def test_lock_status_names_the_reason_a_deploy_kept_the_lock(serving_a: Vm) -> None:
    vm = serving_a
    vm.slo_fails.add(B)
    vm.host.fail_at(f"--project-directory {ROOT}/releases/{A}", DeployError("engine gone"))
    vm.failing_deploy(B)
    kept = read_kept(vm.host, f"{ROOT}/deploy.lock")
    assert kept is not None
    assert "engine gone" in kept.describe()
    assert (kept.sha, kept.previous) == (B, A)


# --- defect 6: a failed first deploy stops what it started and is recorded "failed" ------------
def test_a_failed_first_deploy_stops_what_it_started_and_records_failed(vm: Vm) -> None:
    vm.slo_fails.add(A)
    message = vm.failing_deploy(A)
    assert f"first deploy of {A[:12]} failed" in message
    assert "serves nothing" in message
    assert not [c for c in vm.host.containers.values() if c.status == "running"]
    assert vm.last_record["outcome"] == "failed"
    assert vm.current == ""
    assert not vm.locked


# --- defect 7: every service the release changed is rolled back ------------------------------
def test_a_rollback_puts_monitoring_back_and_stops_what_only_the_failed_release_runs(
    serving_a: Vm,
) -> None:
    vm = serving_a
    vm.extra[B] = ("loki",)
    vm.slo_fails.add(B)
    vm.failing_deploy(B)
    assert_back_on_a(vm)
    assert vm.serving("loki") == set()
    assert vm.serving("redis") == {"7.4"}


def test_a_manual_rollback_interrupted_half_way_is_recorded_and_keeps_the_lock(
    serving_a: Vm,
) -> None:
    vm = serving_a
    vm.deploy(B)
    vm.host.fail_at("nginx -s reload", KeyboardInterrupt(), after=True)
    with pytest.raises(DeployError) as failure:
        vm.deployer().rollback(A)
    assert f"rollback to {A[:12]} failed" in str(failure.value)
    record = vm.last_record
    assert (record["action"], record["sha"], record["outcome"]) == ("rollback", A, "failed")
    assert vm.locked
    assert "interrupted by SIGINT" in vm.kept["reason"]


def test_sigterm_before_anything_changed_ends_like_ctrl_c_and_frees_the_lock(
    serving_a: Vm, sigterm_raises: None
) -> None:
    vm = serving_a
    records = vm.host.files[f"{ROOT}/history.jsonl"]
    vm.host.on("docker image inspect", SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        vm.deploy(B)
    assert_back_on_a(vm)
    assert vm.host.files[f"{ROOT}/history.jsonl"] == records


# --- found by the rehearsal's sigkill and watchdog drills ----------------------------------------
class Killed(BaseException):
    """The controller dying: nothing of the deploy's own failure handling runs."""


def test_a_rollback_after_a_killed_deploy_goes_back_to_the_release_current_names(
    serving_a: Vm, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = serving_a
    vm.deploy(B)
    assert vm.deployer().rollback(None) == A  # A serves again; B passed its checks before
    monkeypatch.setattr(
        Deployer,
        "_deploy_failed",
        lambda self, attempt, switched, error: (_ for _ in ()).throw(error),
    )
    vm.host.fail_at("--scale worker=", Killed())
    with pytest.raises(Killed):
        vm.deploy(B)  # killed between web's switch and worker's
    assert (vm.serving("web"), vm.serving("worker"), vm.current) == ({B}, {A}, A)

    # The operator's `lock release` (its holder is gone), then a plain `rollback`: back to what
    # `current` names, not to the good release before it.
    vm.host.dirs.discard(f"{ROOT}/deploy.lock")
    assert vm.deployer().rollback(None) == A
    assert (vm.serving("web"), vm.serving("worker"), vm.current) == ({A}, {A}, A)
    assert vm.last_record["outcome"] == "ok"
