"""CPU per redirect by container: the stack's median capacity round against the reference's.

Each round records every container's cores (cgroup CPU time over the round's wall time); over
the round's rate that is µs of CPU per answered request. The stack's cost is every container
of its own (the click pipeline and monitoring included: the stack pays for them per redirect),
the reference's is its nginx and its gunicorn, each in its own round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HOST = "(host, all processes)"
REFERENCE_CONTAINERS = ("reference", "reference-nginx")
# The stack's containers that do the same job as one of the reference's.
COUNTERPARTS = {"web": "reference", "nginx": "reference-nginx"}
# Below this many cores a container is idle in the round, and its ratio is noise.
IDLE_CORES = 0.005


@dataclass(frozen=True)
class CpuPerRedirect:
    stack_us: dict[str, float]  # the stack's containers, in the stack's round
    reference_us: dict[str, float]  # the reference's containers, in the reference's round

    @property
    def ratio(self) -> float:
        return sum(self.stack_us.values()) / sum(self.reference_us.values())

    def counterpart_ratio(self, container: str) -> float | None:
        counterpart = COUNTERPARTS.get(container)
        if counterpart is None or counterpart not in self.reference_us:
            return None
        return self.stack_us[container] / self.reference_us[counterpart]


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The capacity round with the median rate (the upper one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["result"]["requests_per_second"])
    return ordered[len(ordered) // 2]


def _us_per_request(run: dict[str, Any], containers: set[str]) -> dict[str, float]:
    rate = run["result"]["requests_per_second"]
    cores: dict[str, float] = run.get("cores_used") or {}
    return {
        name: used / rate * 1e6
        for name, used in cores.items()
        if name in containers and used >= IDLE_CORES
    }


def cpu_per_redirect(result: dict[str, Any]) -> CpuPerRedirect | None:
    """None when the host has no cgroup CPU accounting (no cores were recorded)."""
    stack = median_round(result["capacity"]["stack"])
    reference = median_round(result["capacity"]["reference"])
    own = set(stack.get("cores_used") or {}) - {HOST, *REFERENCE_CONTAINERS}
    split = CpuPerRedirect(
        _us_per_request(stack, own), _us_per_request(reference, set(REFERENCE_CONTAINERS))
    )
    return split if split.stack_us and split.reference_us else None


def cpu_table(split: CpuPerRedirect | None) -> list[str]:
    if split is None:
        return ["(no cgroup CPU accounting on this host)"]
    lines = [
        "| container | stack: µs CPU per redirect | bare Flask: µs per request | ratio |",
        "|---|---|---|---|",
    ]
    for name in sorted(split.stack_us, key=lambda n: -split.stack_us[n]):
        counterpart = COUNTERPARTS.get(name)
        reference = split.reference_us.get(counterpart) if counterpart else None
        ratio = split.counterpart_ratio(name)
        lines.append(
            f"| {name} | {split.stack_us[name]:,.0f} "
            f"| {'' if reference is None else f'{counterpart}: {reference:,.0f}'} "
            f"| {'no counterpart' if ratio is None else f'{ratio:.2f}x'} |"
        )
    lines.append(
        f"| **total** | **{sum(split.stack_us.values()):,.0f}** "
        f"| **{sum(split.reference_us.values()):,.0f}** | **{split.ratio:.2f}x** |"
    )
    return lines
