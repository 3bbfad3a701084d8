"""The worker switch's last step: the new worker's container claims what the old one left.

A worker on SIGTERM drains its own pending list and leaves the group; one killed at the end
of the grace period, or out of drain time, leaves entries pending under its consumer name
(its container's hostname, i.e. the short container id, then "-pid"). Once it has exited,
`python -m worker.take_over` in the new container claims and applies them at once instead
of after WORKER_RECLAIM_IDLE_MS. Claiming is safe even from a live consumer: the apply script
counts only entries the caller owns.
"""

from __future__ import annotations


def take_over_argv(new_container: str, old_container: str) -> list[str]:
    """Run in NEW_CONTAINER: claim every entry pending on OLD_CONTAINER's consumers."""
    return [
        "docker", "exec", new_container,
        "python", "-m", "worker.take_over", f"{old_container}-",
    ]  # fmt: skip
