"""The deploy's worst day on `--target swarm`, in-process: the same orchestration as the VM's
(tests/unit/test_deploy_failures.py) given SwarmTarget, on the same scripted fake host, whose
Swarm rolls a service back when its new tasks would fail their health check. Each test ends by
checking what serves, `current`, history, the lock and the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import swarm_stack
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.plan import ServiceImage
from deploy.stages import Stages
from deploy.swarm_deployer import OVERLAY, SwarmTarget
from tests.unit.test_deploy_failures import ROOT, Vm, release_images

A, B = "a" * 40, "b" * 40
STACK_ROOT = f"{ROOT}/swarm"
SERVICES = ("web", "worker", "nginx", "prometheus", "alertmanager")


class Swarm(Vm):
    """A Deployer given SwarmTarget, the release's stack file scripted instead of rendered."""

    root = STACK_ROOT

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        monkeypatch.setattr(swarm_stack.time, "sleep", lambda seconds: None)

    def deployer(self) -> Deployer:
        deployer = Deployer(
            self.config, self.host, Stages(echo=self.output.append), self.bundles, SwarmTarget
        )
        target = deployer.target
        assert isinstance(target, SwarmTarget)

        def read_stack(repo: Path, sha: str, files: Path) -> list[ServiceImage]:
            (files / "docker-compose.yml").write_text(f"# {sha}\n")
            (files / OVERLAY).write_text(f"# swarm overlay of {sha}\n")
            images = release_images(sha, self.extra.get(sha, ()))
            replicas = {"web": 2}
            services = {
                i.service: {"image": i.image, "deploy": {"replicas": replicas.get(i.service, 1)}}
                for i in images
            }
            target.rendered = {"services": services}
            return images

        target.read_release = read_stack  # type: ignore[method-assign]
        deployer._gate = self._gate  # type: ignore[method-assign]
        return deployer

    def serving(self, service: str) -> set[str]:
        return self.host.swarm.serving(service)


@pytest.fixture
def swarm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Swarm:
    return Swarm(tmp_path, monkeypatch)


@pytest.fixture
def serving_a(swarm: Swarm) -> Swarm:
    swarm.deploy(A)
    assert {s: swarm.serving(s) for s in SERVICES} == {s: {A} for s in SERVICES}
    assert swarm.serving("redis") == {"7.4"}
    return swarm


def assert_back_on_a(swarm: Swarm) -> None:
    for service in SERVICES:
        assert swarm.serving(service) == {A}, service
    assert swarm.current == A
    assert not swarm.locked


def stack_file(sha: str) -> str:
    return f"--compose-file {STACK_ROOT}/releases/{sha}/stack.json"


def test_ctrl_c_right_after_the_stack_deploy_rolls_the_stack_back_and_records(
    serving_a: Swarm,
) -> None:
    swarm = serving_a
    swarm.host.fail_at(stack_file(B), KeyboardInterrupt(), after=True)
    message = swarm.failing_deploy(B)
    assert "interrupted by SIGINT" in message
    assert f"rolled back to {A[:12]}" in message
    assert_back_on_a(swarm)
    record = swarm.last_record
    assert (record["sha"], record["outcome"], record["previous"]) == (B, "rolled-back", A)
    assert record["stage"] == "docker stack deploy linkpulse (Swarm rolls it out)"
    assert "interrupted by SIGINT" in swarm.bundle_reason()
    assert any(swarm.bundles.iterdir()), "the bundle is copied to the controller"


def test_a_lost_connection_mid_update_rolls_back_once_commands_answer_again(
    serving_a: Swarm,
) -> None:
    swarm = serving_a
    swarm.host.fail_at("inspect --type task", OSError("Socket is closed"))
    message = swarm.failing_deploy(B)
    assert "OSError: Socket is closed" in message
    assert_back_on_a(swarm)
    assert swarm.last_record["outcome"] == "rolled-back"
    assert "Socket is closed" in swarm.bundle_reason()


def test_a_failure_before_the_stack_deploy_leaves_the_stack_alone_and_records(
    serving_a: Swarm,
) -> None:
    swarm = serving_a
    swarm.host.fail_at(f"write {STACK_ROOT}/releases/{B}/stack.json", OSError("SFTP failure"))
    message = swarm.failing_deploy(B)
    assert "OSError: SFTP failure" in message
    assert not any("stack deploy" in line for line in swarm.host.log[-20:])
    assert_back_on_a(swarm)
    assert swarm.last_record["outcome"] == "rolled-back"


def test_a_web_swarm_rolled_back_itself_rolls_the_rest_back_with_its_tasks_in_the_bundle(
    serving_a: Swarm,
) -> None:
    swarm = serving_a
    swarm.host.swarm.unhealthy.add(("web", B))
    message = swarm.failing_deploy(B)
    assert "web: a new task failed before passing its health check" in message
    assert "Swarm rolled web back" in message
    assert_back_on_a(swarm)
    assert swarm.last_record["outcome"] == "rolled-back"
    assert swarm.host.files[f"{STACK_ROOT}/bundles/{_bundle(swarm)}/web.txt"]


def test_a_failed_rollback_is_recorded_and_keeps_the_lock_with_its_reason(
    serving_a: Swarm,
) -> None:
    swarm = serving_a
    swarm.slo_fails.add(B)
    swarm.host.fail_at(stack_file(A), DeployError("on the VM: docker stack deploy: engine gone"))
    message = swarm.failing_deploy(B)
    assert f"rollback to {A[:12]} failed" in message
    record = swarm.last_record
    assert (record["sha"], record["previous"], record["outcome"]) == (B, A, "rollback-failed")
    assert record["stage"] == "SLO check of the new version"
    assert "SLO check failed" in swarm.bundle_reason()
    assert swarm.locked
    assert "engine gone" in swarm.kept["reason"]
    assert swarm.serving("web") == {B}, "what serves is what the kept lock says"

    refused = swarm.failing_deploy(A)
    assert "KEPT" in refused
    assert "engine gone" in refused


def test_a_failed_first_deploy_removes_the_stack_and_records_failed(swarm: Swarm) -> None:
    swarm.slo_fails.add(A)
    message = swarm.failing_deploy(A)
    assert f"first deploy of {A[:12]} failed" in message
    assert swarm.host.swarm.services == {}
    assert swarm.last_record["outcome"] == "failed"
    assert swarm.current == ""
    assert not swarm.locked


def _bundle(swarm: Swarm) -> str:
    [name] = {
        path.removeprefix(f"{STACK_ROOT}/bundles/").split("/")[0]
        for path in swarm.host.files
        if path.startswith(f"{STACK_ROOT}/bundles/")
    }
    return name
