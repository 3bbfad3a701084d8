"""What the services stand on: Redis (links, stream, aggregates) and the host's disk."""

from __future__ import annotations

from typing import Any

from monitoring.alerts.common import VALUE_PERCENT, Alert, group, label, literal
from monitoring.thresholds import Thresholds, percent, spoken

# node-exporter's pseudo and container filesystems: never the host's disk filling up.
REAL_FS = 'fstype!~"tmpfs|ramfs|squashfs|nsfs|overlay"'
_MEMORY_USED = "redis_memory_used_bytes / (redis_memory_max_bytes > 0)"


def _redis(thresholds: Thresholds) -> list[Alert]:
    high, near = "RedisMemoryHigh", "RedisMemoryNearLimit"
    high_above, high_for = thresholds.number(high, "above"), thresholds.duration(high, "for")
    near_above, near_for = thresholds.number(near, "above"), thresholds.duration(near, "for")
    summary = f"Redis uses {VALUE_PERCENT} of its maxmemory"
    return [
        Alert(
            "RedisDown",
            "redis_up == 0",
            severity="critical",
            summary="Redis is unreachable",
            description=(
                "redis-exporter cannot reach Redis. Link creation and lookups fail, redirects "
                "answer with errors, and no clicks are recorded or counted."
            ),
        ),
        # Redis runs with maxmemory-policy noeviction: at the limit it refuses writes, so new
        # links and click events fail instead of old data being evicted. The storage policy
        # refuses new links from CREATE_MEMORY_LIMIT_PERCENT (85% by default) to keep headroom
        # for redirects, deletes and the worker; this warns before that point.
        Alert(
            high,
            f"{_MEMORY_USED} > {literal(high_above)}",
            severity="warning",
            summary=summary,
            description=(
                f"Redis memory has been above {percent(high_above)} of maxmemory for "
                f"{spoken(high_for)}. With noeviction, writes start failing at 100%."
            ),
        ),
        # Past the create limit only the headroom is left, and redirects' click events eat into
        # it while the worker is behind. At 100% every redirect fails: page before that.
        Alert(
            near,
            f"{_MEMORY_USED} > {literal(near_above)}",
            severity="critical",
            summary=summary,
            description=(
                f"Redis memory has been above {percent(near_above)} of maxmemory for "
                f"{spoken(near_for)}. New links are already refused; at 100% Redis refuses every "
                "write and redirects fail with 503."
            ),
        ),
    ]


def _disk(thresholds: Thresholds) -> Alert:
    below = thresholds.number("NodeDiskFilling", "below")
    return Alert(
        "NodeDiskFilling",
        f"node_filesystem_avail_bytes{{{REAL_FS}}}\n"
        f"/ node_filesystem_size_bytes{{{REAL_FS}}} < {literal(below)}\n"
        "and node_filesystem_readonly == 0\n",
        severity="warning",
        summary=f"{label('mountpoint')} has {VALUE_PERCENT} space left",
        description=(
            f"Less than {percent(below)} of {label('mountpoint')} ({label('device')}) on "
            f"{label('instance')} is free. Redis's append-only file and the container logs "
            "live on this host; a full disk stops Redis from persisting writes."
        ),
    )


def groups(thresholds: Thresholds) -> list[dict[str, Any]]:
    rules = [*_redis(thresholds), _disk(thresholds)]
    return group("linkpulse-infrastructure", thresholds, rules)
