"""rotate-secret and backup on Swarm: the pure parts (which versions, which updates, the pinned
stack file). tests/swarm/test_swarm.py runs them on a real Swarm under load."""

from __future__ import annotations

import pytest

from deploy.errors import DeployError
from deploy.swarm_rotation import SwarmRotation, moves, next_version
from deploy.swarm_secrets import parse_mounts, pin_secrets

INSPECTED = (
    "lp_web linkpulse_redis_url=linkpulse_redis_url "
    "linkpulse_visitor_hash_salt=linkpulse_visitor_hash_salt\n"
    "lp_worker linkpulse_redis_url=linkpulse_redis_url\n"
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


def test_an_unknown_secret_is_refused_before_anything_connects() -> None:
    with pytest.raises(DeployError, match="not a secret this stack rotates"):
        SwarmRotation(None, "lp", "/srv", "GRAFANA_ADMIN", print)  # type: ignore[arg-type]
