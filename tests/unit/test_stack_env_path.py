"""scripts/stack-env.sh's image path against a fake registry on 127.0.0.1 answering each way,
with a stand-in docker CLI holding the images (the shared engine's real ones stay untouched):
a registry that answers always ends on upstream images, only silence means offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from imagepath.pins import read_pins
from tests.support.fake_registry import closed_port, fake_registry

REPO_ROOT = Path(__file__).resolve().parents[2]
PINS = read_pins()

# Images are lines "name<TAB>label" in $FAKE_DOCKER_IMAGES; every call is logged. Shell, not
# Python: stack-env.sh calls it for every pinned image, and each start counts.
FAKE_DOCKER = r"""#!/bin/sh
echo "$*" >>"$FAKE_DOCKER_LOG"
images=$FAKE_DOCKER_IMAGES
label_of() {
  awk -F '\t' -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' "$images"
}
case "$1 $2" in
  "image inspect") eval "last=\${$#}"; label_of "$last" ;;
  "image rm") awk -F '\t' -v n="$3" '$1 != n' "$images" >"$images.new"
    mv "$images.new" "$images" ;;
  tag\ *) label=$(label_of "$2") && printf '%s\t%s\n' "$3" "$label" >>"$images" ;;
  *) echo "fake docker: unexpected $*" >&2; exit 1 ;;
esac
"""


class Machine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env_file = root / "stack.env"
        self.images = root / "images"
        self.log = root / "docker.log"
        (root / "bin").mkdir()
        docker = root / "bin" / "docker"
        docker.write_text(FAKE_DOCKER)
        docker.chmod(0o755)
        self.images.write_text("")
        self.log.write_text("")

    def has(self, label: str) -> None:
        """Every pinned image present: stand-ins ("Debian ...") or upstream ("")."""
        self.images.write_text("".join(f"{pin.name}\t{label}\n" for pin in PINS))

    def run(self, registry: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("LINKPULSE_", "STACK_ENV_"))
        }
        env |= {
            "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}",
            "STACK_ENV_FILE": str(self.env_file),
            "LINKPULSE_REGISTRY_URL": registry,
            "LINKPULSE_REGISTRY_TIMEOUT": "5",
            "FAKE_DOCKER_IMAGES": str(self.images),
            "FAKE_DOCKER_LOG": str(self.log),
        }
        return subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "stack-env.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def setting(self, key: str) -> str:
        for line in self.env_file.read_text().splitlines():
            if line.startswith(f"{key}="):
                return line.split("=", 1)[1]
        raise KeyError(key)

    def image_names(self) -> dict[str, str]:
        lines = self.images.read_text().splitlines()
        return dict(line.split("\t", 1) for line in lines if line)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def stand_ins_left_under_upstream_names(machine: Machine) -> list[str]:
    names = machine.image_names()
    return [pin.name for pin in PINS if names.get(pin.name, "")]


def test_no_answer_at_all_takes_the_offline_path(machine: Machine) -> None:
    machine.has("Debian trixie package")
    with closed_port() as url:
        result = machine.run(url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "offline"
    assert "unreachable (connection refused) after" in result.stderr
    assert machine.setting("COMPOSE_FILE") == "docker-compose.yml:docker-compose.offline.yml"
    # Stand-ins carry no digest: offline, .env names the images bare.
    assert machine.setting("REDIS_IMAGE") == "redis:8.0.2"


def test_a_reachable_registry_ends_on_upstream_images(machine: Machine) -> None:
    machine.has("Debian trixie package")
    with fake_registry("token") as registry:
        result = machine.run(registry.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "upstream"
    assert machine.setting("COMPOSE_FILE") == "docker-compose.yml"
    assert not stand_ins_left_under_upstream_names(machine)
    # Moved aside, not deleted: a container may still run one.
    assert "linkpulse-offline/stand-in-prom-prometheus:v2.53.3" in machine.image_names()
    for pin in PINS:
        assert machine.setting(pin.key) == pin.ref


REFUSALS = [(429, "rate-limited"), (401, "denied"), (403, "denied"), (500, "failing")]


@pytest.mark.parametrize(("status", "says"), REFUSALS)
def test_a_refusing_registry_never_sends_a_machine_offline(
    machine: Machine, status: int, says: str
) -> None:
    with fake_registry(status) as registry:
        result = machine.run(registry.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "upstream"
    finding = [line for line in result.stderr.splitlines() if line.startswith("registry ")]
    assert len(finding) == 1
    assert f": {says} (" in finding[0]


@pytest.mark.parametrize(("status", "says"), REFUSALS[:2])
def test_a_refusing_registry_stops_where_stand_ins_hold_upstream_names(
    machine: Machine, status: int, says: str
) -> None:
    # They could not be replaced now, and must not stay: one line, and nothing changed.
    machine.has("Debian trixie package")
    with fake_registry(status) as registry:
        result = machine.run(registry.url)
    assert result.returncode == 1
    assert f"the registry refuses ({says}) and stand-ins hold upstream names" in result.stderr
    assert "tag" not in machine.log.read_text()


def test_the_switch_back_command_needs_no_registry(machine: Machine) -> None:
    machine.has("Debian trixie package")
    with closed_port() as url:
        result = machine.run(url, "--upstream")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "upstream"
    assert not stand_ins_left_under_upstream_names(machine)


def test_no_stand_ins_are_built_where_a_registry_answers(machine: Machine) -> None:
    with fake_registry(429) as registry:
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "offline-images.sh")],
            env={
                **os.environ,
                "PATH": f"{machine.root / 'bin'}:{os.environ['PATH']}",
                "LINKPULSE_REGISTRY_URL": registry.url,
                "FAKE_DOCKER_IMAGES": str(machine.images),
                "FAKE_DOCKER_LOG": str(machine.log),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert "a registry answers here (rate-limited)" in result.stderr
    assert machine.log.read_text() == ""
