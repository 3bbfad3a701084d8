"""docker/upstream-images.env is the one place upstream images are named and pinned: every FROM
of the stack's Dockerfiles and every upstream `image:` of the compose files goes through it,
and `python3 -m imagepath pin` re-pins it from the registry's answers."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest

from imagepath.pins import PINS_FILE, bump, env_lines, read_pins
from imagepath.registry import Answer, Outcome, head_manifest
from tests.support.fake_registry import DIGEST, fake_registry

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [
    REPO_ROOT / "Dockerfile",
    REPO_ROOT / "loadtest" / "Dockerfile",
    REPO_ROOT / "nginx" / "Dockerfile",
    *sorted((REPO_ROOT / "monitoring").glob("*/Dockerfile")),
]
COMPOSE_FILES = sorted(REPO_ROOT.glob("docker-compose*.yml"))
PINS = {pin.key: pin for pin in read_pins()}
# Read as text: the Swarm override's !override tags are compose's own, not YAML's.
IMAGE_LINE = re.compile(r"^\s+(?:image|[A-Z0-9_]+_IMAGE):\s*(\S+)\s*$", re.M)
VARIABLE = re.compile(r"^\$\{(?P<key>[A-Z0-9_]+)(?::-(?P<default>[^}]+))?\}$")


def base_keys(dockerfile: Path) -> list[str]:
    """The pin each FROM names; a FROM of an earlier stage needs none."""
    stages: set[str] = set()
    declared: set[str] = set()
    keys = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["ARG"]:
            declared.add(words[1].split("=")[0])
        if words[:1] != ["FROM"]:
            continue
        if words[1] not in stages:
            match = VARIABLE.match(words[1])
            assert match, f"{dockerfile}: {line} names its base directly"
            assert not match["default"], f"{dockerfile}: {line}: the default belongs to compose"
            assert match["key"] in declared, f"{dockerfile}: ARG {match['key']} before FROM"
            keys.append(match["key"])
        if len(words) == 4 and words[2].upper() == "AS":
            stages.add(words[3])
    return keys


@pytest.mark.parametrize(
    "dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(REPO_ROOT))
)
def test_every_base_is_a_pin(dockerfile: Path) -> None:
    keys = base_keys(dockerfile)
    assert keys
    assert set(keys) <= set(PINS)


def compose_references() -> dict[str, str]:
    """key -> the default name the compose files give it, from `image:` and base-image args."""
    found: dict[str, str] = {}
    for path in COMPOSE_FILES:
        for value in IMAGE_LINE.findall(path.read_text()):
            if value.startswith(("${IMAGE_PREFIX", "linkpulse-arm64/")):
                continue  # ours: the images this project builds
            match = VARIABLE.match(value)
            assert match, f"{path.name}: upstream image {value} is not a pin"
            assert match["default"], f"{path.name}: {value} has no default name"
            found[match["key"]] = match["default"]
    return found


def test_compose_names_upstream_images_only_through_pins() -> None:
    references = compose_references()
    assert {key: PINS[key].name for key in references} == references
    # Each pin is used: by compose directly, or as a build arg a Dockerfile's FROM reads.
    from_dockerfiles = {key for dockerfile in DOCKERFILES for key in base_keys(dockerfile)}
    assert set(references) | from_dockerfiles == set(PINS)
    assert from_dockerfiles <= set(references), "a base the compose build args do not pass"


def test_the_paths_differ_only_in_the_digest() -> None:
    pins = read_pins()
    pinned = [pin for pin in pins if pin.digest]
    assert pinned, "no digest at all: run python3 -m imagepath pin where a registry answers"
    upstream = dict(line.split("=", 1) for line in env_lines(pins, "upstream"))
    offline = dict(line.split("=", 1) for line in env_lines(pins, "offline"))
    for pin in pins:
        assert offline[pin.key] == pin.name
        assert upstream[pin.key] == (f"{pin.name}@{pin.digest}" if pin.digest else pin.name)


def test_pin_rewrites_every_digest_from_the_registry(tmp_path: Path) -> None:
    pins = tmp_path / "upstream-images.env"
    pins.write_text(
        "# kept\nPYTHON_IMAGE=python:3.13-slim-trixie\n"
        f"REDIS_IMAGE=redis:8.0.2@sha256:{'00' * 32}\n"
    )
    with fake_registry("token") as registry:
        changes = bump(pins, partial(head_manifest, registry.url, timeout=5))
    assert pins.read_text() == (
        f"# kept\nPYTHON_IMAGE=python:3.13-slim-trixie@{DIGEST}\nREDIS_IMAGE=redis:8.0.2@{DIGEST}\n"
    )
    assert len(changes) == 2


def test_pin_changes_nothing_unless_every_image_resolves(tmp_path: Path) -> None:
    pins = tmp_path / "upstream-images.env"
    before = "NGINX_IMAGE=nginx:1.26.3\nREDIS_IMAGE=redis:8.0.2\n"
    pins.write_text(before)

    def resolve(name: str) -> Answer:
        if name.startswith("redis"):
            return Answer(Outcome.RATE_LIMITED, "429: rate limited")
        return Answer(Outcome.REACHABLE, "200", digest=DIGEST)

    with pytest.raises(RuntimeError, match=r"redis:8\.0\.2: rate-limited"):
        bump(pins, resolve)
    assert pins.read_text() == before


def test_the_pins_file_is_well_formed() -> None:
    pins = read_pins(PINS_FILE)
    assert len({pin.name for pin in pins}) == len(pins)
    assert len(PINS) == len(pins)
