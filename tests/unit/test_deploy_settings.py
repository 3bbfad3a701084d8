"""Operator settings as part of a release (deploy/release_settings.py): checked by their owners
before anything connects, diffed against what serves, recorded in history, and rolled back with
the release; driven through the scripted fake host (tests/support/fake_host.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deploy import release_settings
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.rollout import Rollout
from deploy.stages import Stages
from deploy.vm_target import VmTarget
from tests.unit.test_deploy_failures import ROOT, A, B, Vm

COMPOSE = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
C = "c" * 40


class SettingsVm(Vm):
    """The fake VM, with each sha's committed settings file scripted in `files`."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.files: dict[str, str] = {}
        monkeypatch.setattr(Rollout, "_wait_public", lambda self, started: 0.8)

    def deployer(self) -> Deployer:
        deployer = super().deployer()
        target = deployer.target
        assert isinstance(target, VmTarget)
        read = target.read_release

        def read_with_settings(repo: Path, sha: str, files: Path) -> object:
            images = read(repo, sha, files)
            target.settings = release_settings.load(self.files.get(sha), sha, "production", COMPOSE)
            return images

        target.read_release = read_with_settings  # type: ignore[assignment,method-assign]
        return deployer

    def rollback(self) -> str:
        deployer = Deployer(self.config, self.host, Stages(echo=self.output.append), self.bundles)
        return deployer.rollback(None)

    def nginx_ids(self) -> set[str]:
        return {c.id for c in self.host.running("nginx")}

    def release_env(self, sha: str) -> str:
        return self.host.files[f"{ROOT}/releases/{sha}/release.env"]

    def config_sets(self, since: int) -> list[str]:
        return [line for line in self.host.log[since:] if "CONFIG SET" in line]


@pytest.fixture
def vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SettingsVm:
    return SettingsVm(tmp_path, monkeypatch)


CHANGED = 'RATE_LIMIT_WRITE = "40r/s"\nREDIS_MAXMEMORY = "300mb"\n'


def test_a_settings_change_is_diffed_applied_recorded_and_rolled_back(vm: SettingsVm) -> None:
    vm.deploy(A)
    nginx_of_a = vm.nginx_ids()
    vm.files[B] = CHANGED
    vm.output.clear()
    mark = len(vm.host.log)
    vm.deploy(B)

    shown = "\n".join(vm.output)
    assert "RATE_LIMIT_WRITE: (empty) (default) -> 40r/s" in shown
    assert "REDIS_MAXMEMORY: 200mb (default) -> 300mb" in shown
    assert "nginx: recreated" in shown
    assert "redis: REDIS_MAXMEMORY by CONFIG SET on the running Redis (no restart)" in shown
    assert "RATE_LIMIT_WRITE=40r/s\n" in vm.release_env(B)
    assert "RATE_LIMIT_WRITE" not in vm.release_env(A)
    assert vm.nginx_ids().isdisjoint(nginx_of_a), "nginx reads its rate limits at start"
    assert any("CONFIG SET maxmemory 300mb" in line for line in vm.config_sets(mark))
    stored = json.loads(vm.host.files[f"{ROOT}/releases/{B}/settings.json"])
    assert stored["values"] == {"RATE_LIMIT_WRITE": "40r/s", "REDIS_MAXMEMORY": "300mb"}
    record = vm.last_record
    digest = release_settings.ReleaseSettings("production", stored["values"]).digest
    assert record["settings"] == (
        f"production {digest}: RATE_LIMIT_WRITE=40r/s, REDIS_MAXMEMORY=300mb"
    )

    nginx_of_b = vm.nginx_ids()
    vm.output.clear()
    mark = len(vm.host.log)
    assert vm.rollback() == A
    shown = "\n".join(vm.output)
    assert "RATE_LIMIT_WRITE: 40r/s -> (empty) (default)" in shown
    assert vm.nginx_ids().isdisjoint(nginx_of_b)
    assert any("CONFIG SET maxmemory 200mb" in line for line in vm.config_sets(mark))
    assert vm.serving("web") == {A}
    assert vm.last_record["action"] == "rollback"
    assert str(vm.last_record["settings"]).endswith(
        "RATE_LIMIT_WRITE=(default), REDIS_MAXMEMORY=(default)"
    )


def test_a_web_setting_leaves_nginx_running(vm: SettingsVm) -> None:
    vm.deploy(A)
    nginx = vm.nginx_ids()
    vm.files[B] = "CREATE_MEMORY_LIMIT_PERCENT = 95\n"
    vm.output.clear()
    vm.deploy(B)
    assert vm.nginx_ids() == nginx
    assert "    web: replaced with zero downtime, as on every deploy" in vm.output
    assert "CREATE_MEMORY_LIMIT_PERCENT=95\n" in vm.release_env(B)


def test_an_unchanged_release_says_so(vm: SettingsVm) -> None:
    vm.files[A] = vm.files[B] = 'LOG_LEVEL = "WARNING"\n'
    vm.deploy(A)
    vm.output.clear()
    vm.deploy(B)
    assert "    no setting changes" in vm.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('RATE_LIMIT_WRITE = "fast"', "RATE_LIMIT_WRITE='fast' is not a rate like 20r/s"),
        ("CREATE_MEMORY_LIMIT_PERCENT = 150", "CREATE_MEMORY_LIMIT_PERCENT is invalid"),
        ('REDIS_MAXMEMORY = "lots"', "REDIS_MAXMEMORY 'lots' is not allowed"),
        ("RATE_LIMITS_WRITE = 1", "unknown setting RATE_LIMITS_WRITE"),
        ('REDIS_PASSWORD = "hunter2"', "REDIS_PASSWORD is a secret"),
        ('ALERT_RECEIVER_KEY = "https://hooks.example/x"', "ALERT_RECEIVER_KEY is a secret"),
        ('IMAGE_TAG = "latest"', "IMAGE_TAG is not an operator setting"),
        ('REDIS_IMAGE = "redis:9"', "REDIS_IMAGE is not an operator setting"),
        ('LOG_LEVEL = "INFO $HOME"', "LOG_LEVEL = 'INFO $HOME': only letters"),
        ("LOG_LEVEL = [1]", "LOG_LEVEL must be a string or a number"),
        ("LOG_LEVEL = ", "deploy/environments/production.toml at cccccccccccc: "),
    ],
)
def test_bad_settings_get_one_line_naming_the_key_and_change_nothing(
    vm: SettingsVm, text: str, message: str
) -> None:
    vm.deploy(A)
    before = (dict(vm.host.files), len(vm.host.log))
    vm.files[C] = text + "\n"
    error = vm.failing_deploy(C)
    assert message in error
    assert "\n" not in error
    assert error.startswith(f"deploy/environments/production.toml at {C[:12]}: ")
    assert (vm.host.files, len(vm.host.log)) == before
    assert vm.serving("web") == {A}


def test_the_committed_environment_files_are_valid() -> None:
    for path in (Path(__file__).resolve().parents[2] / "deploy" / "environments").glob("*.toml"):
        release_settings.load(path.read_text(), C, path.stem, COMPOSE)


def test_redis_sizes_read_as_redis_reads_them() -> None:
    assert release_settings.redis_bytes("200mb") == 200 * 1024**2
    assert release_settings.redis_bytes("1G") == 10**9
    assert release_settings.redis_bytes("5000") == 5000
    with pytest.raises(DeployError):
        release_settings.redis_bytes("lots")


def test_the_settings_file_is_read_at_the_sha_not_from_the_work_tree(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        identity = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
        done = subprocess.run(
            ["git", *identity, *args], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q")
    (tmp_path / "README").write_text("before settings files\n")
    git("add", "README")
    git("commit", "-qm", "old")
    old = git("rev-parse", "HEAD")
    settings = tmp_path / "deploy" / "environments" / "staging.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('LOG_LEVEL = "DEBUG"\n')
    git("add", "deploy")
    git("commit", "-qm", "new")
    new = git("rev-parse", "HEAD")
    settings.write_text('LOG_LEVEL = "ERROR"\n')  # uncommitted: no part of any release

    assert release_settings.committed(tmp_path, new, "staging") == 'LOG_LEVEL = "DEBUG"\n'
    assert release_settings.committed(tmp_path, old, "staging") is None
    assert release_settings.committed(tmp_path, new, "production") is None


def test_a_release_that_fails_its_checks_takes_its_settings_back_with_it(vm: SettingsVm) -> None:
    vm.deploy(A)
    vm.files[B] = CHANGED
    vm.slo_fails.add(B)
    mark = len(vm.host.log)
    message = vm.failing_deploy(B)
    assert "rolled back" in message
    nginx_starts = [line for line in vm.host.log[mark:] if "--force-recreate nginx" in line]
    assert [f"/releases/{B}" in n for n in nginx_starts] == [True, False], "to B, then back to A"
    assert [line.split()[-1] for line in vm.config_sets(mark)] == ["300mb", "200mb"]
    assert vm.last_record["outcome"] == "rolled-back"
    assert str(vm.last_record["settings"]).endswith("RATE_LIMIT_WRITE=40r/s, REDIS_MAXMEMORY=300mb")
