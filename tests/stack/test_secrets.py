"""No secret from the stack's env file is baked into an image or written to a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stack.stack import compose, docker, env_file, image_exists

pytestmark = pytest.mark.stack

SECRET_NAMES = ("REDIS_PASSWORD", "VISITOR_HASH_SALT", "GRAFANA_ADMIN_PASSWORD")


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in env_file().read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in SECRET_NAMES and value.strip():
            values[name.strip()] = value.strip()
    assert set(values) == set(SECRET_NAMES)
    return values


@pytest.fixture(scope="module")
def stack_images() -> list[str]:
    return sorted(set(compose("config", "--images").split()) - {""})


def test_no_secret_in_image_metadata_or_history(
    secrets: dict[str, str], stack_images: list[str]
) -> None:
    for image in stack_images:
        if not image_exists(image):
            continue  # a service left out on this path (grafana offline)
        metadata = docker("image", "inspect", image) + docker(
            "history", "--no-trunc", "--format", "{{.CreatedBy}}", image
        )
        for name, value in secrets.items():
            assert value not in metadata, f"{name} in the metadata of {image}"


def test_no_secret_in_the_layers_of_the_images_we_build(
    secrets: dict[str, str], tmp_path: Path
) -> None:
    config = json.loads(compose("config", "--format", "json"))
    built = sorted({s["image"] for s in config["services"].values() if "build" in s})
    for image in built:
        if not image_exists(image):
            continue
        archive = tmp_path / "image.tar"
        docker("save", "--output", str(archive), image, timeout=300)
        # Layers are uncompressed tars inside the archive: a secret in any file would show.
        content = archive.read_bytes()
        for name, value in secrets.items():
            assert value.encode() not in content, f"{name} in a layer of {image}"
        archive.unlink()


def test_no_secret_in_the_logs(secrets: dict[str, str]) -> None:
    logs = compose("logs", "--no-color", "--timestamps")
    assert logs.strip(), "no log output at all"
    for name, value in secrets.items():
        assert value not in logs, f"{name} appears in docker compose logs"
