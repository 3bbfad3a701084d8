"""make bench-stack's CPU per redirect by container, and the profile summary it prints."""

from __future__ import annotations

from typing import Any

import pytest

from bench.stack.cpu import HOST, cpu_per_redirect, cpu_table
from bench.stack.profile import summarize


def _round(rps: float, cores: dict[str, float]) -> dict[str, Any]:
    return {"result": {"requests_per_second": rps}, "cores_used": cores}


def _result(stack: list[dict[str, Any]], reference: list[dict[str, Any]]) -> dict[str, Any]:
    return {"capacity": {"stack": stack, "reference": reference}}


def test_each_side_counts_its_own_containers_in_its_own_median_round() -> None:
    busy_stack = {"web": 0.6, "nginx": 0.1, "redis": 0.1, "reference": 0.05, HOST: 1.9}
    result = _result(
        [_round(500, {"web": 9.0}), _round(1000, busy_stack), _round(2000, {"web": 9.0})],
        [_round(2000, {"reference": 0.8, "reference-nginx": 0.2, "web": 0.03, HOST: 1.9})],
    )
    split = cpu_per_redirect(result)
    assert split is not None
    # The idle reference in the stack's round and idle web in the reference's are not counted.
    assert split.stack_us == pytest.approx({"web": 600, "nginx": 100, "redis": 100})
    assert split.reference_us == pytest.approx({"reference": 400, "reference-nginx": 100})
    assert split.ratio == pytest.approx(800 / 500)
    assert split.counterpart_ratio("web") == pytest.approx(1.5)
    assert split.counterpart_ratio("redis") is None
    assert "| **total** | **800** | **500** | **1.60x** |" in cpu_table(split)


def test_idle_containers_and_missing_accounting() -> None:
    result = _result(
        [_round(1000, {"web": 0.5, "node-exporter": 0.001})],
        [_round(1000, {"reference": 0.5})],
    )
    split = cpu_per_redirect(result)
    assert split is not None
    assert set(split.stack_us) == {"web"}
    no_cores = _result([_round(1000, {})], [_round(1000, {})])
    assert cpu_per_redirect(no_cores) is None
    assert cpu_table(None) == ["(no cgroup CPU accounting on this host)"]


def test_profile_summary_shows_modules_by_own_time_and_our_code_inclusive() -> None:
    site = "/usr/local/lib/python3.12/site-packages"
    loop = f"run ({site}/gunicorn/workers/gthread.py:120)"
    follow = "follow (/app/web/redirects.py:70)"
    collapsed = "\n".join(
        [
            f"{loop};parse ({site}/gunicorn/http/message.py:80) 30",
            f"{loop};parse_headers ({site}/gunicorn/http/message.py:95) 10",
            f"{loop};{follow};evalsha ({site}/redis/client.py:10) 50",
            f"{loop};{follow};{follow} 10",
        ]
    )
    summary = summarize(collapsed)
    assert summary["samples"] == 100
    assert summary["modules"] == [
        ("redis/client.py", 0.5),
        ("gunicorn/http/message.py", 0.4),
        ("web/redirects.py", 0.1),
    ]
    # A recursive frame counts once per sample.
    assert summary["own_code"] == [("web/redirects.py:follow", 0.6)]
