"""The one-shot take-over command the deploy tool runs in the new worker's container."""

from __future__ import annotations

import shlex

from deploy.worker_handover import take_over_argv


def test_the_new_container_claims_by_the_old_containers_hostname() -> None:
    argv = take_over_argv("0123456789ab", "ba9876543210")

    assert shlex.join(argv) == "docker exec 0123456789ab python -m worker.take_over ba9876543210-"
