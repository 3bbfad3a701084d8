"""Where a web worker's CPU goes: the top frames of `make profile`'s py-spy samples.

    python -m bench.stack.profile build/profile/profile-web.txt docs/data/profile-web.json

reads py-spy's collapsed stacks (`--format raw`, sampled with `--gil`: only where the process
spends CPU) and keeps a small summary that `make bench-stack`'s report prints while its CPU
goal is missed. A profile is a run of its own (py-spy slows what it samples), so the summary
carries its date and command, and the report says which profile it shows.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TOP = 12
# Frames in nearly every sample are the thread's entry (gunicorn's loop, threading): they say
# nothing about where the time goes.
ENTRY_SHARE = 0.9
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]*)(?::\d+)?\)$")
# Where an installed or an app file starts being meaningful.
_ROOTS = ("site-packages/", "/app/", "lib/python3")


def _short(frame: str) -> str:
    """`function (path:line)` -> `path:function`, the path from its package on."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["path"]
    for root in _ROOTS:
        if root in path:
            path = path.split(root, 1)[1].lstrip("/")
            break
    return f"{path}:{match['function']}"


def summarize(collapsed: str) -> dict[str, Any]:
    """Each function's share of the samples: inclusive (it or what it called) and self."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        raise ValueError("no samples in the profile")
    below_entry = [(f, n / total) for f, n in inclusive.most_common() if n / total < ENTRY_SHARE]
    return {
        "samples": total,
        "inclusive": below_entry[:TOP],
        "self": [(frame, count / total) for frame, count in own.most_common(TOP)],
    }


def profile_section(summary: dict[str, Any], web_us: float | None) -> list[str]:
    """The report's lines; with web's µs per redirect, each share in µs as well."""

    def cell(share: float) -> str:
        return f"{share:.0%}" + ("" if web_us is None else f" (~{share * web_us:,.0f} µs)")

    lines = [
        f"Top frames of a web gunicorn worker under redirect load: `{summary['command']}` "
        f"of {summary['when']} ({summary['samples']:,} samples; µs: the share of web's CPU "
        "per redirect in this run, so an estimate).",
        "",
        "| function (inclusive: it and what it calls) | share | function (self) | share |",
        "|---|---|---|---|",
    ]
    for (inclusive, share_in), (own, share_own) in zip(
        summary["inclusive"], summary["self"], strict=False
    ):
        lines.append(f"| `{inclusive}` | {cell(share_in)} | `{own}` | {cell(share_own)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("collapsed", type=Path, help="py-spy --format raw output")
    parser.add_argument("output", type=Path, help="the JSON summary to write")
    parser.add_argument("--command", default="make profile", help="what produced the profile")
    args = parser.parse_args()
    summary = summarize(args.collapsed.read_text())
    taken = datetime.fromtimestamp(args.collapsed.stat().st_mtime, UTC)
    summary["when"] = taken.strftime("%Y-%m-%d %H:%M UTC")
    summary["command"] = args.command
    args.output.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.output}: {summary['samples']} samples")


if __name__ == "__main__":
    main()
