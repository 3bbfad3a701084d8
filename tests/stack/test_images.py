"""The images this project builds say what they are and run as the user they declare."""

from __future__ import annotations

import json

import pytest

from tests.stack.stack import compose, docker

pytestmark = pytest.mark.stack

OCI_LABELS = ("source", "revision", "version")


def test_built_images_carry_oci_labels_and_a_non_root_user_and_health_check() -> None:
    services = json.loads(compose("config", "--format", "json"))["services"]
    for name, service in services.items():
        if "build" not in service or service.get("profiles"):
            continue
        config = json.loads(docker("image", "inspect", service["image"]))[0]["Config"]
        labels = config["Labels"] or {}
        for label in OCI_LABELS:
            assert f"org.opencontainers.image.{label}" in labels, (name, label)
        assert labels["org.opencontainers.image.revision"], name
        assert labels["org.opencontainers.image.version"], name
        assert config["User"] not in {"", "root", "0"}, name
        assert config["Healthcheck"]["Test"][0] == "CMD", name
