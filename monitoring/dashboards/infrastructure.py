"""What the services stand on: Redis, nginx and the host, one dashboard each."""

from __future__ import annotations

from monitoring.alerts.infrastructure import REAL_FS
from monitoring.dashboards.common import Query, graph, new_dashboard, numbered, single
from monitoring.thresholds import Thresholds, percent


def redis(thresholds: Thresholds) -> object:
    high = percent(thresholds.number("RedisMemoryHigh", "above"))
    near = percent(thresholds.number("RedisMemoryNearLimit", "above"))
    board = new_dashboard(
        "linkpulse-redis",
        "linkpulse redis",
        "Redis holds links, the click stream and the aggregates; noeviction means a full "
        "Redis refuses writes.",
    )
    board.with_panel(
        single("Redis up", "1 when redis-exporter reaches Redis.", "none", Query("max(redis_up)"))
    )
    board.with_panel(
        graph(
            "Memory against maxmemory",
            f"Used memory and the maxmemory limit. RedisMemoryHigh fires above {high}, "
            f"RedisMemoryNearLimit pages above {near}.",
            "bytes",
            Query("sum(redis_memory_used_bytes)", "used"),
            Query("sum(redis_memory_max_bytes)", "maxmemory"),
            width=18,
        )
    )
    board.with_panel(
        graph(
            "Commands per second",
            "Commands Redis processed per second.",
            "ops",
            Query("sum(rate(redis_commands_processed_total[1m]))", "commands"),
        )
    )
    board.with_panel(
        graph(
            "Clients",
            "Connected clients: web's pools, the workers and the exporter.",
            "short",
            Query("sum(redis_connected_clients)", "clients"),
        )
    )
    return numbered(board)


def nginx() -> object:
    board = new_dashboard(
        "linkpulse-nginx",
        "linkpulse nginx",
        "The only public entry: its connections and requests.",
    )
    board.with_panel(
        single(
            "nginx up",
            "1 when nginx-exporter reads nginx's stub_status.",
            "none",
            Query("max(nginx_up)"),
        )
    )
    board.with_panel(
        graph(
            "Requests per second",
            "Requests nginx handled, all statuses (rate-limited 429s included).",
            "reqps",
            Query("sum(rate(nginx_http_requests_total[1m]))", "requests"),
            width=18,
        )
    )
    board.with_panel(
        graph(
            "Connections by state",
            "Active client connections and what they do: reading a request, writing a "
            "response, or waiting (keep-alive).",
            "short",
            Query("sum(nginx_connections_active)", "active"),
            Query("sum(nginx_connections_reading)", "reading"),
            Query("sum(nginx_connections_writing)", "writing"),
            Query("sum(nginx_connections_waiting)", "waiting"),
            width=24,
        )
    )
    return numbered(board)


def host(thresholds: Thresholds) -> object:
    free = percent(thresholds.number("NodeDiskFilling", "below"))
    board = new_dashboard(
        "linkpulse-host",
        "linkpulse host",
        "The machine under the stack, from node-exporter.",
    )
    board.with_panel(
        graph(
            "CPU busy",
            "Share of CPU time not idle, all cores.",
            "percentunit",
            Query('1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m]))', "busy"),
        )
    )
    board.with_panel(
        graph(
            "Memory available",
            "Memory the kernel can give to processes without swapping.",
            "bytes",
            Query("sum(node_memory_MemAvailable_bytes)", "available"),
            Query("sum(node_memory_MemTotal_bytes)", "total"),
        )
    )
    board.with_panel(
        graph(
            "Disk free",
            f"Free share of each real filesystem node-exporter sees. NodeDiskFilling fires "
            f"below {free}. Without the host's root filesystem mounted into node-exporter "
            "(--path.rootfs), it sees its own container's mounts only.",
            "percentunit",
            Query(
                f"min by (mountpoint) (node_filesystem_avail_bytes{{{REAL_FS}}}"
                f" / node_filesystem_size_bytes{{{REAL_FS}}})",
                "{{mountpoint}}",
            ),
        )
    )
    board.with_panel(
        graph(
            "Load average",
            "1-minute load average against the number of cores.",
            "short",
            Query("max(node_load1)", "load 1m"),
            Query('count(node_cpu_seconds_total{mode="idle"})', "cores"),
        )
    )
    return numbered(board)
