"""rotate-secret and restore on Swarm: the pure parts (which versions, which updates, the pinned
stack file). tests/swarm/test_swarm.py runs them on a real Swarm under load."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner

from deploy.cli import cli
from deploy.errors import DeployError
from deploy.ssh import Result
from deploy.swarm_redis import SwarmRedis
from deploy.swarm_rotation import SwarmRotation, moves, next_version
from deploy.swarm_secrets import parse_mounts, pin_secrets
from tests.support.fake_host import OK, FakeHost
from tests.unit.test_rotation import first_positions

RDB = b"REDIS0012" + bytes(20)
INSPECTED = (
    "lp_web linkpulse_redis_url=linkpulse_redis_url "
    "linkpulse_visitor_hash_salt=linkpulse_visitor_hash_salt\n"
    "lp_worker /run/secrets/linkpulse_redis_url=linkpulse_redis_url\n"
    "lp_redis linkpulse_redis_password=linkpulse_redis_password\n"
    "lp_redis-exporter linkpulse_redis_password=linkpulse_redis_password_v2\n"
    "lp_nginx\n"
    "other_web linkpulse_redis_url=x\n"
)


def test_mounts_are_read_per_service_of_the_stack_only() -> None:
    mounts = parse_mounts(INSPECTED, "lp")
    assert set(mounts) == {"web", "worker", "redis", "redis-exporter", "nginx"}
    assert mounts["redis-exporter"] == {"linkpulse_redis_password": "linkpulse_redis_password_v2"}
    assert mounts["nginx"] == {}


def test_the_next_version_follows_the_highest() -> None:
    assert next_version({"linkpulse_redis_url"}, "linkpulse_redis_url") == "linkpulse_redis_url_v2"
    existing = {"a", "a_v2", "a_v10", "ab_v40"}
    assert next_version(existing, "a") == "a_v11"


def test_every_service_but_redis_moves_onto_the_new_versions() -> None:
    new = {
        "linkpulse_redis_password": "linkpulse_redis_password_v3",
        "linkpulse_redis_url": "linkpulse_redis_url_v2",
    }
    flags = moves(parse_mounts(INSPECTED, "lp"), new)
    assert set(flags) == {"web", "worker", "redis-exporter"}  # Redis would restart
    assert flags["web"] == [
        "--secret-rm", "linkpulse_redis_url",
        "--secret-add", "source=linkpulse_redis_url_v2,target=linkpulse_redis_url",
    ]  # fmt: skip
    assert flags["redis-exporter"][1] == "linkpulse_redis_password_v2"
    # As a stack deploy of compose's config mounts them: under the same absolute path.
    assert flags["worker"][-1] == (
        "source=linkpulse_redis_url_v2,target=/run/secrets/linkpulse_redis_url"
    )


def test_a_deploy_keeps_each_service_on_the_version_it_mounts() -> None:
    stack = {
        "services": {
            "web": {"image": "w", "secrets": [{"source": "linkpulse_redis_url"}]},
            "redis": {"image": "r", "secrets": ["linkpulse_redis_password"]},
            "nginx": {"image": "n"},
        },
        "secrets": {"linkpulse_redis_url": {"external": True, "name": "linkpulse_redis_url"}},
    }
    mounts = {"web": {"linkpulse_redis_url": "linkpulse_redis_url_v2"}, "redis": {}}
    pinned = pin_secrets(stack, mounts)
    assert pinned["services"]["web"]["secrets"] == [
        {"source": "linkpulse_redis_url_v2", "target": "linkpulse_redis_url"}
    ]
    assert pinned["secrets"]["linkpulse_redis_url_v2"] == {
        "external": True,
        "name": "linkpulse_redis_url_v2",
    }
    assert pinned["services"]["redis"] == stack["services"]["redis"]
    assert pinned["services"]["nginx"] == {"image": "n"}
    # Before any rotation (or the stack's first deploy) nothing changes.
    assert pin_secrets(stack, {}) == stack


def test_grafana_moves_onto_the_new_admin_password_version() -> None:
    mounts = parse_mounts(
        "lp_grafana linkpulse_grafana_admin_password=linkpulse_grafana_admin_password\n", "lp"
    )
    new = {"linkpulse_grafana_admin_password": "linkpulse_grafana_admin_password_v2"}
    assert moves(mounts, new) == {
        "grafana": [
            "--secret-rm", "linkpulse_grafana_admin_password",
            "--secret-add", "source=linkpulse_grafana_admin_password_v2,"
            "target=linkpulse_grafana_admin_password",
        ]
    }  # fmt: skip


@pytest.mark.parametrize("name", ["GRAFANA_ADMIN", "REGISTRY_PASSWORD"])
def test_an_unknown_secret_is_refused_before_anything_connects(name: str) -> None:
    with pytest.raises(DeployError, match="not a secret this stack rotates"):
        SwarmRotation(None, "lp", "/srv", name, print)  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["vm", "swarm"])
def test_the_cli_refuses_an_unknown_secret_before_the_configuration_is_read(target: str) -> None:
    argv = ["--config", "/nonexistent/deploy.toml", "--target", target, "rotate-secret", "NOPE"]
    result = CliRunner().invoke(cli, argv)
    assert isinstance(result.exception, DeployError)
    assert "'NOPE' is not a secret this stack rotates" in str(result.exception)


def scripted_manager() -> FakeHost:
    """Answers SwarmRedis's commands as a manager with web 4, worker 3 and one Redis task."""
    manager = FakeHost(label="manager", otherwise=OK)
    manager.answer("docker ps", stdout="r1\n")
    manager.answer("docker inspect --format", stdout="lp_redis-data 999:999 redis:8@sha256:ab\n")
    manager.answer("Replicated.Replicas", "lp_web", stdout="4\n")
    manager.answer("Replicated.Replicas", "lp_worker", stdout="3\n")
    return manager


def test_a_swarm_restore_scales_writers_then_redis_down_installs_and_scales_them_back() -> None:
    manager = scripted_manager()
    SwarmRedis(manager, "lp").replace_data(RDB)
    log = manager.commands
    scales = [line for line in log if "service scale" in line]
    assert scales == [
        "docker service scale --detach=false lp_web=0 lp_worker=0",
        "docker service scale --detach=false lp_redis=0",
        "docker service scale --detach=false lp_redis=1",
        "docker service scale --detach=false lp_web=4 lp_worker=3",
    ]
    install = next(n for n, line in enumerate(log) if line.startswith("docker run"))
    assert log.index(scales[1]) < install < log.index(scales[2])
    assert "--volume lp_redis-data:/data" in log[install]
    assert "--user 999:999" in log[install]
    assert base64.b64decode(manager.stdins[install] or "") == RDB


def settling_manager(states: list[str]) -> FakeHost:
    """A manager whose `docker service inspect` answers each of STATES in turn."""
    manager = FakeHost(label="manager")
    manager.answer_with("docker service inspect", reply=lambda: Result(0, states.pop(0), ""))
    return manager


@pytest.mark.parametrize("final", ["completed", "rollback_completed"])
def test_an_update_is_waited_out_until_swarm_has_finished_it(
    final: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swarm tier found web still "updating" when `service update --detach=false` returned."""
    monkeypatch.setattr("deploy.swarm_rotation.POLL_S", 0)
    # Still watched twice after the CLI returned, then ends in FINAL.
    states = ["updating", "updating", final]
    rotation = SwarmRotation(settling_manager(states), "lp", "/srv", "REDIS_PASSWORD", print)
    assert rotation.settled("lp_web") == final
    assert states == []


def grafana_manager() -> FakeHost:
    """A manager whose Grafana mounts linkpulse_grafana_admin_password until it is updated."""
    manager = FakeHost(label="manager", otherwise=OK)
    mounted = ["linkpulse_grafana_admin_password"]

    def updated() -> Result:
        mounted[0] = "linkpulse_grafana_admin_password_v2"
        return OK

    manager.answer("docker service ls", stdout="s1\n")
    manager.answer_with(
        "docker service inspect",
        "{{.Spec.Name}}",
        reply=lambda: Result(0, f"lp_grafana {mounted[0]}={mounted[0]}\n", ""),
    )
    manager.answer("docker service inspect", "{{if", stdout="completed\n")
    manager.answer("docker ps", stdout="g1\n")
    manager.answer("docker secret ls", stdout="linkpulse_grafana_admin_password\n")
    manager.answer_with("docker service update", reply=updated)
    return manager


def test_swarm_grafana_rotation_resets_the_database_before_grafana_moves_to_the_new_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("deploy.swarm_rotation.POLL_S", 0)
    manager = grafana_manager()
    SwarmRotation(manager, "lp", "/srv", "GRAFANA_ADMIN_PASSWORD", print).run()
    order = first_positions(
        manager.log,
        (
            "docker secret create linkpulse_grafana_admin_password_v2",
            "docker exec -i g1 sh -c 'grafana cli admin reset-admin-password",
            "docker service update",
            "docker secret rm linkpulse_grafana_admin_password",
        ),
    )
    assert order == sorted(order), manager.log
    assert not [line for line in manager.log if "ACL SETUSER" in line]
