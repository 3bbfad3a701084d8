"""A release whose nginx config fails `nginx -t` is refused before anything running is touched,
and a rollback puts the previous release's nginx files back before anything reloads nginx
(issue 16, defect 2). Against a scripted VM (tests/support/fake_host.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.config import parse_config
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.nginx_check import check_release_nginx, nginx_test_argv
from deploy.plan import ServiceImage
from deploy.stages import Stages
from deploy.vm_target import VmTarget
from tests.support.fake_host import OK, FakeHost
from tests.unit.test_deploy_logic import GOOD_CONFIG

NEW = "b" * 40
OLD = "a" * 40
PREFIX = "registry.example/team/linkpulse"
SAID = 'unknown directive "bogus" in /etc/nginx/conf.d/default.conf:3'
EMERG = f"2026/12/03 13:41:38 [emerg] 1#1: {SAID}\nnginx: configuration file ... test failed"
# What would change something that runs: compose, docker exec (reloads), the live conf.d.
RUNNING = ("docker compose", "docker exec", "docker stop", "docker rm", "/nginx/conf.d/")


def test_the_check_is_a_throwaway_container_of_the_release_image() -> None:
    assert nginx_test_argv("r/nginx:" + NEW, "/srv/r/conf.d", "/srv/r/up.d") == [
        "docker", "run", "--rm", "--pull", "never", "--network", "none", "--read-only",
        "--tmpfs", "/tmp",
        "--volume", "/srv/r/conf.d:/etc/nginx/conf.d:ro",
        "--volume", "/srv/r/up.d:/etc/nginx/upstream.d:ro",
        "r/nginx:" + NEW, "-t", "-q",
    ]  # fmt: skip


def test_a_refused_config_is_one_line_with_nginx_own_words() -> None:
    remote = FakeHost(otherwise=OK)
    remote.answer("docker run", exit_code=1, stderr=EMERG + "\n")
    with pytest.raises(DeployError) as refused:
        check_release_nginx(remote, Layout("/srv/lp"), NEW, "img")  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"nginx -t refused the config of release {NEW[:12]}: {SAID}: nothing running was changed"
    )
    upstream = f"/srv/lp/releases/{NEW}/nginx/check-upstream.d/web.conf"
    assert remote.files[upstream].startswith("server 127.0.0.1:8000 ")


def _deployer(remote: FakeHost, tmp_path: Path) -> Deployer:
    (tmp_path / "deploy.toml").write_text(GOOD_CONFIG)
    config = parse_config(GOOD_CONFIG, tmp_path / "deploy.toml")
    return Deployer(config, remote, Stages(echo=lambda _: None), tmp_path / "bundles")  # type: ignore[arg-type]


def _images(sha: str) -> list[ServiceImage]:
    return [
        ServiceImage(service, f"{PREFIX}/{name}:{sha}", name, built=True)
        for service, name in (("nginx", "nginx"), ("web", "app"), ("worker", "app"))
    ]


def test_a_release_whose_nginx_config_fails_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    files = tmp_path / "release"
    (files / "nginx" / "conf.d").mkdir(parents=True)
    (files / "docker-compose.yml").write_text("services: {}\n")
    (files / "nginx" / "conf.d" / "default.conf").write_text("server { bogus; }\n")
    remote = FakeHost(otherwise=OK)
    remote.answer("cat", "/current", stdout=OLD + "\n")
    remote.answer("docker run", exit_code=1, stderr=EMERG + "\n")
    deployer = _deployer(remote, tmp_path)

    with pytest.raises(DeployError, match="nginx -t refused the config"):
        deployer._deploy_locked(NEW, files, _images(NEW))

    check = remote.commands.index(next(c for c in remote.commands if "docker run" in c))
    assert f"/releases/{NEW}/nginx/conf.d:/etc/nginx/conf.d:ro" in remote.commands[check]
    touched = [c for c in remote.commands if any(word in c for word in RUNNING)]
    assert [c for c in touched if f"/releases/{NEW}/" not in c] == []
    assert not any(path.startswith("/srv/linkpulse/nginx/") for path in remote.files)


class _Rollout:
    """Records the order of the switches the rollback asks for."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def apply_nginx(self, sha: str, image: str) -> None:
        self.calls.append(f"nginx files and reload of {sha[:1]}")

    def switch_web(self, sha: str) -> None:
        self.calls.append(f"web {sha[:1]} (reloads nginx)")

    def switch_worker(self, sha: str) -> None:
        self.calls.append(f"worker {sha[:1]}")


@pytest.mark.parametrize("parts", [["web", "nginx"], ["web", "nginx", "worker"]])
def test_rollback_restores_the_previous_nginx_files_before_any_reload(
    tmp_path: Path, parts: list[str]
) -> None:
    deployer = _deployer(FakeHost(otherwise=OK), tmp_path)
    rollout = _Rollout()
    assert isinstance(deployer.target, VmTarget)
    deployer.target.rollout = rollout  # type: ignore[assignment]

    deployer.target.switch_back(OLD, _images(OLD), parts)

    assert rollout.calls[:2] == ["nginx files and reload of a", "web a (reloads nginx)"]
