"""The stack file for `docker stack deploy`: what compose's merged config needs changed."""

from __future__ import annotations

from typing import Any

import pytest

from swarm.render import RenderError, stack_file, stack_service

COMPOSE_SERVICE: dict[str, Any] = {
    "image": "linkpulse/app:dev",
    "build": {"context": "."},
    "depends_on": {"redis": {"condition": "service_healthy"}},
    "pull_policy": "never",
    "restart": "unless-stopped",
    "command": None,
    "read_only": True,
    "tmpfs": ["/tmp:size=64m"],
    "ports": [{"target": 8080, "published": "38080", "mode": "host"}],
    "networks": {"edge": None},
    "secrets": [{"source": "used", "target": "/run/secrets/used"}],
    "deploy": {
        "resources": {"limits": {"cpus": 0.5}, "reservations": {"cpus": 1}},
        "placement": {},
    },
}


def test_compose_only_keys_are_dropped_and_the_image_replaced() -> None:
    rendered = stack_service(COMPOSE_SERVICE, "localhost:39999/app:0123abcd")
    assert rendered["image"] == "localhost:39999/app:0123abcd"
    for key in ("build", "depends_on", "pull_policy", "restart", "command"):
        assert key not in rendered
    assert rendered["read_only"] is True


def test_tmpfs_becomes_a_mount_that_swarm_applies() -> None:
    rendered = stack_service(COMPOSE_SERVICE, "app")
    assert "tmpfs" not in rendered
    assert rendered["volumes"] == [
        {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 64 * 1024 * 1024}}
    ]


def test_numbers_are_written_the_way_the_stack_schema_wants_them() -> None:
    rendered = stack_service(COMPOSE_SERVICE, "app")
    assert rendered["ports"][0]["published"] == 38080
    assert rendered["deploy"]["resources"]["limits"]["cpus"] == "0.5"
    assert rendered["deploy"]["resources"]["reservations"]["cpus"] == "1"
    assert "placement" not in rendered["deploy"]


def test_an_unsupported_tmpfs_option_is_refused_by_name() -> None:
    service = {**COMPOSE_SERVICE, "tmpfs": ["/tmp:mode=1777"]}
    with pytest.raises(RenderError, match="tmpfs option 'mode=1777' of /tmp"):
        stack_service(service, "app")


def test_networks_and_volumes_lose_compose_project_names_and_unused_networks_go() -> None:
    config = {
        "name": "linkpulse",
        "services": {"web": COMPOSE_SERVICE},
        "networks": {
            "edge": {"name": "linkpulse_edge", "driver": "overlay"},
            "loadgen": {"name": "linkpulse_loadgen"},
        },
        "volumes": {"redis-data": {"name": "linkpulse_redis-data"}},
        "secrets": {"used": {"external": True}, "unused": {"external": True}},
        "x-logging": {},
    }
    rendered = stack_file(config, lambda image: f"local/{image}")
    assert rendered["networks"] == {"edge": {"driver": "overlay"}}
    assert rendered["volumes"] == {"redis-data": {}}
    assert rendered["secrets"] == {"used": {"external": True}}
    assert rendered["services"]["web"]["image"] == "local/linkpulse/app:dev"
    assert "name" not in rendered
    assert "x-logging" not in rendered
