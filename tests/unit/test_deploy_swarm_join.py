"""`python -m deploy join`: the commands it runs on the manager and on the new node."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

import pytest

from deploy.config import Config, parse_config
from deploy.errors import DeployError
from deploy.ssh import Remote
from deploy.stages import Stages
from deploy.swarm_join import join_swarm
from tests.support.fake_host import OK, FakeHost
from tests.unit.test_deploy_logic import GOOD_CONFIG

TOKEN = "SWMTKN-1-secret"
ROLE = "LocalNodeState"  # the node_role query


def _manager() -> FakeHost:
    manager = FakeHost(label="deploy@manager:22", otherwise=OK)
    manager.answer(ROLE, stdout="active true\n")
    manager.answer("join-token", stdout=f"{TOKEN}\n")
    manager.answer("Swarm.NodeAddr", stdout="10.0.1.11\n")
    return manager


def _node(state: str = "inactive") -> FakeHost:
    node = FakeHost(label="deploy@node2:22", otherwise=OK)
    node.answer(ROLE, stdout=f"{state} false\n")
    return node


def _config(advertise_addr: str = "") -> Config:
    config = parse_config(GOOD_CONFIG, Path("/x/deploy.toml"))
    swarm = dataclasses.replace(config.swarm, advertise_addr=advertise_addr)
    return dataclasses.replace(config, swarm=swarm)


def _join(config: Config, manager: FakeHost, node: FakeHost, role: str) -> None:
    join_swarm(config, cast(Remote, manager), cast(Remote, node), role, Stages(echo=print))


def test_a_new_node_joins_with_the_managers_token_and_address() -> None:
    manager, node = _manager(), _node()

    _join(_config(), manager, node, "manager")

    assert "docker swarm join-token --quiet manager" in manager.commands
    assert node.commands[-1] == f"docker swarm join --token {TOKEN} 10.0.1.11:2377"


def test_the_configured_advertise_address_and_a_worker_role() -> None:
    manager, node = _manager(), _node()

    _join(_config("192.0.2.5"), manager, node, "worker")

    assert "docker swarm join-token --quiet worker" in manager.commands
    assert not [line for line in manager.commands if "NodeAddr" in line]
    assert node.argvs[-1] == ["docker", "swarm", "join", "--token", TOKEN, "192.0.2.5:2377"]


def test_a_node_already_in_a_swarm_is_left_as_it_is() -> None:
    manager, node = _manager(), _node("active")

    _join(_config(), manager, node, "manager")

    assert not [line for line in node.commands if "swarm join" in line]


def test_a_manager_not_initialised_stops_before_the_node_is_touched() -> None:
    manager, node = FakeHost(otherwise=OK), _node()
    manager.answer(ROLE, stdout="inactive false\n")

    with pytest.raises(DeployError, match="init-swarm"):
        _join(_config(), manager, node, "manager")
    assert node.commands == []


def test_a_failed_join_says_dockers_words_without_the_token() -> None:
    manager, node = _manager(), _node()
    node.answer("swarm join", exit_code=1, stderr="Error: could not reach 10.0.1.11:2377\n")

    with pytest.raises(DeployError) as raised:
        _join(_config(), manager, node, "manager")
    assert "could not reach" in str(raised.value)
    assert TOKEN not in str(raised.value)
