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
# The project's own packages: their frames are shown inclusive (what the redirect costs with
# everything it calls); everything else by module, where the time is spent itself.
OWN_PACKAGES = ("web/", "linkpulse/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]*)(?::\d+)?\)$")
# Where an installed or an app file starts being meaningful.
_ROOTS = ("site-packages/", "/app/", "lib/python3")


def _short(frame: str) -> tuple[str, str]:
    """`function (path:line)` -> (path, function), the path from its package on."""
    match = _FRAME.match(frame)
    if match is None:
        return frame, ""
    path = match["path"]
    for root in _ROOTS:
        if root in path:
            path = path.split(root, 1)[1].lstrip("/")
            break
    return path, match["function"]


def summarize(collapsed: str) -> dict[str, Any]:
    """Shares of the samples: each module's own time, and each of our functions inclusive."""
    modules: Counter[str] = Counter()
    own_code: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        modules[frames[-1][0]] += count
        for path, function in set(frames):
            if path.startswith(OWN_PACKAGES):
                own_code[f"{path}:{function}"] += count
    if total == 0:
        raise ValueError("no samples in the profile")
    return {
        "samples": total,
        "modules": [(module, count / total) for module, count in modules.most_common(TOP)],
        "own_code": [(frame, count / total) for frame, count in own_code.most_common(TOP // 2)],
    }


def profile_section(summary: dict[str, Any], web_us: float | None) -> list[str]:
    """The report's lines; with web's µs per redirect, each share in µs as well."""

    def share(value: float) -> str:
        return f"{value:.0%}" + ("" if web_us is None else f" (~{value * web_us:,.0f} µs)")

    own = "; ".join(f"`{frame}` {share(value)}" for frame, value in summary["own_code"])
    return [
        f"A web gunicorn worker under redirect load, sampled by py-spy: `{summary['command']}` "
        f"of {summary['when']} ({summary['samples']:,} samples of the thread holding the GIL, "
        "so time in system calls is not in it; µs: the share of web's CPU per redirect in this "
        "run, an estimate). Our own code, with what it calls: " + own + ".",
        "",
        "| module (its own time) | share |",
        "|---|---|",
        *(f"| `{module}` | {share(value)} |" for module, value in summary["modules"]),
    ]


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
