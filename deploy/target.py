"""What a deploy target is: the one interface `--target vm` (deploy/vm_target.py) and
`--target swarm` (deploy/swarm_deployer.py) implement.

The orchestration (deploy/deployer.py: the lock, the registry login and pull, the smoke and SLO
checks, every failure path, history, the bundle, pruning) is the same for both and is written
once; it is given a target and asks it only what this interface names. A target keeps its own
state (the VM's operator settings, the Swarm's rendered stack file) to itself.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deploy.bundle import Bundle
from deploy.canary import WebCanary
from deploy.config import Config
from deploy.errors import DeployError
from deploy.gate import Query
from deploy.host import Host
from deploy.layout import Layout
from deploy.plan import ServiceImage
from deploy.rollout import Rollout
from deploy.stages import Stages
from deploy.vm import Vm

IMAGES_FILE = "images.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Parts:
    """What the orchestration hands its target: the shared connection, layout and output."""

    config: Config
    remote: Host
    stages: Stages
    layout: Layout
    vm: Vm
    # The VM's switch; upgrade-redis and rotate-secret drive it through the orchestration too.
    rollout: Rollout
    # The failure bundle of the deploy or rollback under way, once it has one.
    bundle: Callable[[], Bundle | None]
    # A Grafana annotation (event, sha, text), when the config names a Grafana.
    annotate: Callable[[str, str, str], None]


class Target(Protocol):
    """The steps in which a VM and a Swarm differ, in the order a deploy takes them."""

    def read_release(self, repo: Path, sha: str, files: Path) -> list[ServiceImage]:
        """The release's files from git into FILES; its images. Nothing is touched yet."""
        ...

    def check_host(self) -> None:
        """What the target needs before anything is locked or changed."""
        ...

    def settings_against(self, serving: str | None, sha: str) -> str:
        """Print what SHA's operator settings change against SERVING's; history's note."""
        ...

    def upload(self, sha: str, files: Path, images: list[ServiceImage], absent: set[str]) -> None:
        """The release's files onto the host (nothing running is changed)."""
        ...

    def canary_for(self, previous: str | None) -> WebCanary | None:
        """The canary web is released by, or None: all at once, then the SLO check."""
        ...

    def switch(
        self,
        sha: str,
        images: list[ServiceImage],
        absent: set[str],
        switched: list[str],
        canary: WebCanary | None,
    ) -> None:
        """Make SHA serve; SWITCHED gets each part's name before that part is changed."""
        ...

    def switch_back(self, sha: str, images: list[ServiceImage], parts: list[str]) -> None:
        """Every part of PARTS back to release SHA, which served before."""
        ...

    def stop_first_deploy(self, sha: str, switched: list[str]) -> None:
        """Nothing earlier to go back to: stop what the failed release started."""
        ...

    def web_is(self, sha: str) -> bool:
        """Whether every web instance runs SHA."""
        ...

    def prometheus(self) -> AbstractContextManager[Query]:
        """The target's Prometheus, for the SLO check."""
        ...

    def keep_failed_web(self) -> None:
        """What the failing web said, into the bundle."""
        ...


def current_release(remote: Host, layout: Layout) -> str | None:
    result = remote.run(["cat", layout.current], check=False)
    sha = result.stdout.strip()
    return sha if result.ok and sha else None


def absent_services(remote: Host, layout: Layout, sha: str) -> set[str]:
    raw = remote.run(["cat", f"{layout.release_dir(sha)}/{IMAGES_FILE}"])
    return set(json.loads(raw.stdout)["absent"])


def release_images(remote: Host, layout: Layout, sha: str) -> list[ServiceImage]:
    raw = remote.run(["cat", f"{layout.release_dir(sha)}/{IMAGES_FILE}"], check=False)
    if not raw.ok:
        raise DeployError(f"release {sha[:12]} is not on the VM (never deployed, or pruned)")
    return [ServiceImage(**item) for item in json.loads(raw.stdout)["images"]]


class TargetKind(Protocol):
    """A target's class: where it keeps its releases on the host, and the target itself."""

    def target_layout(self, config: Config) -> Layout: ...

    def __call__(self, parts: Parts) -> Target: ...
