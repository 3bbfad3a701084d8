"""The canary judge's PromQL, run by promtool's engine: each revision's latency histogram comes
from its own web instances only, while both revisions serve side by side."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.canary_judge import bucket_query
from tests.config.tools import binary
from tests.support.commands import run

OLD, NEW = "a" * 40, "b" * 40


def _series(instance: str, revision: str) -> list[dict[str, str]]:
    build = f'linkpulse_build_info{{job="web", instance="{instance}", revision="{revision}"}}'
    bucket = 'linkpulse_http_request_duration_seconds_bucket{job="web", route="/<code>"'
    # Per 30 s: the old instance answers 60 redirects, 50 of them within 5 ms; the new one 20,
    # 5 of them within 5 ms.
    fast, slow = (50, 10) if revision == OLD else (5, 15)
    return [
        {"series": build, "values": "1x20"},
        {"series": f'{bucket}, instance="{instance}", le="0.005"}}', "values": f"0+{fast}x20"},
        {
            "series": f'{bucket}, instance="{instance}", le="0.05"}}',
            "values": f"0+{fast + slow}x20",
        },
        {
            "series": f'{bucket}, instance="{instance}", le="+Inf"}}',
            "values": f"0+{fast + slow}x20",
        },
    ]


def test_each_revisions_histogram_comes_from_its_own_instances(tmp_path: Path) -> None:
    def expect(sha: str, counts: tuple[int, int, int]) -> dict[str, object]:
        return {
            "expr": bucket_query(sha, "/<code>", 60),
            "eval_time": "5m",
            "exp_samples": [
                {"labels": f'{{le="{le}"}}', "value": value}
                for le, value in zip(("0.005", "0.05", "+Inf"), counts, strict=True)
            ],
        }

    unit_test = {
        "rule_files": [],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "30s",
                "input_series": [*_series("w1:8000", OLD), *_series("w2:8000", NEW)],
                # increase() over 60 s of a counter rising N per 30 s: 2N.
                "promql_expr_test": [expect(OLD, (100, 120, 120)), expect(NEW, (10, 40, 40))],
            }
        ],
    }
    test_file = tmp_path / "canary_queries_test.yml"
    test_file.write_text(json.dumps(unit_test))
    result = run(binary("promtool", "prometheus"), "test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr
