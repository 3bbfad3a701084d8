"""make bench-stack's pure parts: RESP encoding for redis-cli --pipe, and the closing figures."""

from __future__ import annotations

from typing import Any

from bench.stack import linger
from bench.stack.compose import resp
from bench.stack.report import GOALS, summary


def test_resp_encodes_byte_lengths() -> None:
    assert resp("XADD", "lp:clicks", "*", "ref", "bücher.example") == (
        b"*5\r\n$4\r\nXADD\r\n$9\r\nlp:clicks\r\n$1\r\n*\r\n$3\r\nref\r\n$15\r\nb\xc3\xbccher.example\r\n"
    )


def _run(target: str, rps: float, offered: float | None = None, p99: float = 10.0,
         age: int | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "target": target,
        "offered_per_second": offered,
        "connections": 64,
        "result": {"requests_per_second": rps, "p50_ms": 1.0, "p99_ms": p99, "requests": 1,
                   "bad_responses": 0},
        "max_event_age_ms": age,
    }  # fmt: skip


def test_summary_judges_latency_at_the_goal_load_only() -> None:
    medians = {"stack": 1000.0, "reference": 1250.0, "static": 5000.0}
    result = {
        "capacity_median": medians,
        "latency": [
            _run("stack", 500, offered=500, p99=5, age=10),
            *(_run("stack", 790, offered=GOALS.load_fraction * 1000, p99=p, age=a)
              for p, a in ((40, 200), (60, 900), (50, 300))),
            _run("stack", 900, offered=1000, p99=400, age=5000),
            _run("reference", 1000, offered=GOALS.load_fraction * 1250, p99=1),
        ],
        "worker": [{"xadd_per_second": 100.0, "drain_per_second": r} for r in (30.0, 60.0, 50.0)],
    }  # fmt: skip
    figures = summary(result)
    assert figures["capacity_ratio"] == 0.8
    assert figures["generator_headroom"] == 4.0
    assert figures["p99_ms_at_80"] == 50
    assert figures["event_age_ms_at_80"] == 900
    assert figures["drain_ratio"] == 0.5


def test_linger_figure_is_reported_per_setting_with_its_median() -> None:
    result = {
        "settings": {"WORKER_BATCH_LINGER_MS": "50"},
        "linger": {
            "offered_per_second": 600.0,
            "seconds": 8,
            "events_per_cpu_second": {"0": [900.0, 1100.0, 1000.0], "default": [4000.0]},
        },
    }
    rows = [line for line in linger.render(result) if line.startswith("| ")]
    assert rows[1:] == ["| 0 (off) | 900, 1,100, 1,000 | 1,000 |", "| 50 ms | 4,000 | 4,000 |"]
    assert linger.render({"settings": {}}) == []
