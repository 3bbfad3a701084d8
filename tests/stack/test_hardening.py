"""Every running container: non-root, read-only root filesystem, no capabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.stack.stack import compose, running_containers, service_of

pytestmark = pytest.mark.stack


def _process_status(container: dict[str, Any], field: str) -> str:
    """A field of /proc/<pid>/status of the container's main process, read on the host."""
    status = Path(f"/proc/{container['State']['Pid']}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
    return line.split(":", 1)[1].strip()


@pytest.fixture(scope="module")
def containers() -> list[dict[str, Any]]:
    return running_containers()


def test_every_container_runs_as_a_non_root_user(containers: list[dict[str, Any]]) -> None:
    for container in containers:
        assert container["Config"]["User"] not in {"", "root", "0", "0:0"}, service_of(container)
        real, effective, *_ = _process_status(container, "Uid").split()
        assert real != "0", service_of(container)
        assert effective != "0", service_of(container)


def test_root_filesystems_are_read_only_where_declared(
    containers: list[dict[str, Any]],
) -> None:
    declared = {
        name: bool(service.get("read_only", False))
        for name, service in json.loads(compose("config", "--format", "json"))["services"].items()
    }
    # The stack's policy: every service declares it.
    assert all(declared.values()), declared
    for container in containers:
        assert container["HostConfig"]["ReadonlyRootfs"] is declared[service_of(container)], (
            service_of(container)
        )


def test_no_container_keeps_or_gains_capabilities(containers: list[dict[str, Any]]) -> None:
    for container in containers:
        host_config = container["HostConfig"]
        assert not host_config["CapAdd"], service_of(container)
        assert host_config["CapDrop"] == ["ALL"], service_of(container)
        assert host_config["Privileged"] is False, service_of(container)
        assert int(_process_status(container, "CapEff"), 16) == 0, service_of(container)
        assert "no-new-privileges:true" in (host_config["SecurityOpt"] or []), service_of(container)
