"""The Swarm target's pure logic: config, stack file checks, and reading Swarm's own state."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from deploy.config import parse_config
from deploy.errors import DeployError, PrometheusUnavailableError
from deploy.gate import first_value
from deploy.ssh import Result
from deploy.swarm_deployer import (
    keep_unchanged,
    leaked_placeholders,
    placeholder,
    render_settings,
)
from deploy.swarm_init import secrets_script
from deploy.swarm_stack import (
    ServiceState,
    SwarmStack,
    TaskState,
    converged,
    parse_services,
    parse_tasks,
    settle,
)
from tests.support.fake_host import FakeHost
from tests.unit.test_deploy_logic import GOOD_CONFIG

IMAGE = "registry.example/team/linkpulse/app:" + "b" * 40
OLD = "registry.example/team/linkpulse/app:" + "a" * 40


def _service(**changes: Any) -> ServiceState:
    base = ServiceState(
        name="web",
        id="svc1",
        image=IMAGE + "@sha256:" + "1" * 64,
        replicas=2,
        task_template='{"image": "new"}',
        update_state="completed",
        update_started="2026-11-30T06:00:00Z",
        update_message="update completed",
    )
    return ServiceState(**{**vars(base), **changes})


def _task(image: str = IMAGE, state: str = "running", desired: str = "running") -> TaskState:
    return TaskState(service_id="svc1", image=image, state=state, desired=desired, error="")


def test_swarm_config_defaults_and_settings() -> None:
    config = parse_config(GOOD_CONFIG, Path("/x/deploy.toml"))
    assert (config.swarm.stack, config.swarm.advertise_addr, config.swarm.settings) == (
        "linkpulse",
        "",
        {},
    )
    text = GOOD_CONFIG + '\n[swarm]\nstack = "lp"\n[swarm.settings]\nWEB_REPLICAS = "4"\n'
    config = parse_config(text, Path("/x/deploy.toml"))
    assert config.swarm.stack == "lp"
    settings = render_settings(config, "c" * 40)
    assert settings["WEB_REPLICAS"] == "4"
    assert settings["IMAGE_TAG"] == settings["GIT_REVISION"] == "c" * 40
    assert settings["PUBLIC_BASE_URL"] == "https://links.example"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[swarm]\nstack = "Link Pulse"\n', "not a stack name"),
        ("[swarm]\nreplicas = 3\n", r"\[swarm\]"),
        ('[swarm.settings]\nweb_replicas = "4"\n', "UPPER_CASE"),
        ("[swarm.settings]\nWEB_REPLICAS = 4\n", "string value"),
        ('[swarm.settings]\nREDIS_PASSWORD = "x"\n', "is a secret"),
    ],
)
def test_bad_swarm_config_is_one_clear_error(table: str, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        parse_config(GOOD_CONFIG + "\n" + table, Path("/x/deploy.toml"))


def test_a_placeholder_secret_left_in_the_stack_file_is_named() -> None:
    clean = {"services": {"web": {"environment": {"REDIS_URL_FILE": "/run/secrets/x"}}}}
    assert leaked_placeholders(clean) == []
    leaky = {
        "services": {
            "web": {"environment": {"REDIS_URL": f"redis://:{placeholder('REDIS_PASSWORD')}@r"}},
            "grafana": {"environment": {"X": placeholder("GRAFANA_ADMIN_PASSWORD")}},
        }
    }
    assert leaked_placeholders(leaky) == ["GRAFANA_ADMIN_PASSWORD", "REDIS_PASSWORD"]


def test_unchanged_services_keep_the_image_they_run() -> None:
    stack = {"services": {"web": {"image": IMAGE}, "redis": {"image": "new/redis:8"}}}
    kept = keep_unchanged(stack, {"redis": "old/redis:8@sha256:ff"})
    assert kept["services"] == {
        "web": {"image": IMAGE},
        "redis": {"image": "old/redis:8@sha256:ff"},
    }
    assert stack["services"]["redis"]["image"] == "new/redis:8"


def test_parse_services_and_tasks_read_what_the_docker_cli_prints() -> None:
    services = parse_services(
        json.dumps(
            [
                {
                    "ID": "svc1",
                    "Spec": {
                        "Name": "linkpulse_web",
                        "Mode": {"Replicated": {"Replicas": 2}},
                        "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}},
                    },
                    "UpdateStatus": {
                        "State": "rollback_completed",
                        "StartedAt": "t1",
                        "Message": "rollback completed",
                    },
                },
                {
                    "Spec": {
                        "Name": "linkpulse_node-exporter",
                        "Mode": {"Global": {}},
                        "TaskTemplate": {"ContainerSpec": {"Image": "x:1"}},
                    }
                },
            ]
        ),
        "linkpulse",
    )
    assert services["web"].replicas == 2
    assert services["web"].id == "svc1"
    assert services["web"].update_state == "rollback_completed"
    assert services["node-exporter"].replicas is None
    assert services["node-exporter"].update_state == ""
    tasks = parse_tasks(
        json.dumps(
            [
                {
                    "ServiceID": "svc1",
                    "DesiredState": "running",
                    "Status": {"State": "starting", "Err": ""},
                    "Spec": {"ContainerSpec": {"Image": IMAGE}},
                }
            ]
        )
    )
    assert tasks == [TaskState("svc1", IMAGE, "starting", "running", "")]


def test_converged_needs_every_wanted_task_running_the_new_image() -> None:
    service = _service()
    assert converged(service, [_task(), _task()])
    assert not converged(service, [_task()])  # one replica short
    assert not converged(service, [_task(), _task(state="starting")])
    assert not converged(service, [_task(), _task(image=OLD)])
    assert converged(service, [_task(), _task(), _task(OLD, "shutdown", "shutdown")])
    assert converged(_service(replicas=None), [_task()])


def test_an_old_update_status_is_not_this_deploys_outcome() -> None:
    before = _service(
        task_template='{"image": "old"}', update_state="rollback_completed", update_started="t0"
    )
    deployed = _service(update_state="rollback_completed", update_started="t0")
    running = [_task(), _task()]
    # Swarm has not picked the new spec up yet: the status is still the last deploy's rollback.
    assert settle(before, deployed, deployed, running) is None
    assert (
        settle(before, deployed, _service(update_state="updating", update_started="t1"), running)
        is None
    )
    assert (
        settle(before, deployed, _service(update_state="completed", update_started="t1"), running)
        == ""
    )


def test_a_rollback_is_seen_although_it_restores_the_old_spec() -> None:
    before = _service(task_template='{"image": "old"}', image=OLD, update_started="t0")
    deployed = _service(update_started="t0")
    rolled_back = _service(
        task_template='{"image": "old"}',
        image=OLD,
        update_state="rollback_completed",
        update_started="t1",
        update_message="update rolled back due to failure or early termination of task x",
    )
    assert settle(before, deployed, rolled_back, [_task(OLD), _task(OLD)]) == (
        "update rolled back due to failure or early termination of task x"
    )


def test_a_new_or_unchanged_service_settles_when_its_tasks_run() -> None:
    fresh = _service(update_state="")
    assert settle(None, fresh, fresh, [_task()]) is None
    assert settle(None, fresh, fresh, [_task(), _task()]) == ""
    same = _service()
    assert settle(same, same, same, [_task(), _task()]) == ""


def test_promtool_json_reads_like_the_http_api() -> None:
    assert first_value([{"metric": {}, "value": [1796015771.7, "3"]}]) == 3.0
    assert math.isnan(first_value([]))
    with pytest.raises(DeployError):
        first_value([{"metric": {}, "value": "3"}])


def _manager(*execs: Result) -> tuple[FakeHost, list[str]]:
    """Answers `docker ps` with the current Prometheus task (the list's last) and each
    `docker exec` with the next of EXECS."""
    manager, tasks, answers = FakeHost(label="vm"), ["task1"], list(execs)
    manager.answer_with("docker ps", reply=lambda: Result(0, f"{tasks[-1]}\n", ""))
    manager.answer_with("docker exec", reply=lambda: answers.pop(0))
    return manager, tasks


def test_a_query_after_a_killed_exec_finds_the_replaced_prometheus_task() -> None:
    answer = json.dumps([{"metric": {}, "value": [1.0, "7"]}])
    manager, tasks = _manager(Result(137, "", ""), Result(0, answer, ""))
    with SwarmStack(manager, "linkpulse").prometheus() as query:
        with pytest.raises(PrometheusUnavailableError, match="exited 137: no output"):
            query("up")
        tasks.append("task2")
        assert query("up") == 7.0
    execed = [argv[argv.index("exec") + 1] for argv in manager.argvs if "exec" in argv]
    assert execed == ["task1", "task2"]


def test_a_hanging_prometheus_is_an_outage_with_its_own_words() -> None:
    manager, _tasks = _manager(Result(124, "", ""))
    with (
        SwarmStack(manager, "linkpulse").prometheus() as query,
        pytest.raises(PrometheusUnavailableError, match="exited 124: no answer within 20s"),
    ):
        query("up")


def test_a_malformed_query_is_an_error_not_an_outage() -> None:
    said = 'query error: bad_data: invalid parameter "query": parse error'
    manager, _tasks = _manager(Result(1, "", said))
    with (
        SwarmStack(manager, "linkpulse").prometheus() as query,
        pytest.raises(DeployError, match="refused a query: query error: bad_data") as error,
    ):
        query("sum(")
    assert not isinstance(error.value, PrometheusUnavailableError)


def test_swarm_secrets_script_reads_the_env_file_on_the_vm(tmp_path: Path) -> None:
    script = secrets_script(str(tmp_path / ".env"))
    assert "docker secret create linkpulse_redis_url" in script
    assert "redis://:$(value REDIS_PASSWORD)@redis:6379/0" in script
