"""The app image built for linux/arm64 runs web and worker there: a redirect and its click.

On an x86_64 host the engine runs them under qemu-user-static (binfmt_misc); redis is the
host's platform (docker-compose.arm64.yml says why). What differs between platforms is
the compiled wheels and the base image; both are exercised by the redirect and the count.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.stack.stack import Stack, compose, docker

pytestmark = pytest.mark.arm64

APP_IMAGE = "linkpulse-arm64/app:arm64"
# The app's compiled extensions: they come from the aarch64 wheels in build/wheels.
COMPILED = "import hiredis, markupsafe._speedups, pydantic_core._pydantic_core"


def test_the_image_is_recorded_as_linux_arm64(arm64_stack: Stack) -> None:
    image = json.loads(docker("image", "inspect", APP_IMAGE))[0]
    assert (image["Os"], image["Architecture"]) == ("linux", "arm64")


@pytest.mark.parametrize("service", ["web", "worker"])
def test_the_service_runs_on_aarch64_with_its_compiled_wheels(
    arm64_stack: Stack, service: str
) -> None:
    machine = compose("exec", "-T", service, "uname", "-m").strip()
    assert machine == "aarch64"
    compose("exec", "-T", service, "python", "-c", COMPILED)


def test_a_redirect_and_its_click_counted_by_the_arm64_worker(arm64_stack: Stack) -> None:
    target = f"https://example.com/arm64/{uuid.uuid4().hex}"
    link = arm64_stack.create_link(target)

    response = arm64_stack.click(link["code"])

    assert response.status_code == 302
    assert response.headers["Location"] == target
    # Emulated, the worker's batches take longer than natively.
    arm64_stack.wait_for_clicks(link["code"], 1, deadline_s=180)
