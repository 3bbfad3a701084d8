"""Print the fault tier's figures (build/faults/*.json) as the Markdown table of
docs/resilience.md: `python -m tests.stack.fault_table` after `make chaos`."""

from __future__ import annotations

import json
from typing import Any

from tests.stack.faults import FAULTS
from tests.stack.test_faults import RESULTS_DIR


def rows() -> list[dict[str, Any]]:
    found = [json.loads(path.read_text()) for path in RESULTS_DIR.glob("*.json")]
    order = list(FAULTS)
    return sorted(found, key=lambda row: order.index(row["fault"]))


def table() -> str:
    lines = [
        "| fault | links created | redirects served | failed | failed by status | recovery | "
        "alerts | lost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows():
        statuses = ", ".join(
            f"{count}x {status}" for status, count in row["failed_by_status"].items()
        )
        lines.append(
            f"| {row['fault']} | {row['links_created']} | {row['redirects_served']} | "
            f"{row['failed']} | {statuses or '—'} | {row['recovery_s']} s | "
            f"{', '.join(row['alerts']) or '—'} | {row.get('lost', 'unchecked')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
