"""docs/workshop/*.md as one bash script, and the output excerpts it promises.

A guide marks what a learner runs: ```sh guide blocks run in the checkout, ```sh guide-scratch
blocks edit files (step 3's change and its undo) and run in a scratch worktree instead, so the
test never edits the checkout it runs from. The one ```sh guide-settings block holds a learner's
addresses; the runner gives its own in their place. A ```text expect block right after a
runnable block lists lines that the block's output contains (only where it is stable).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

GUIDES = Path("docs") / "workshop"
RUNNABLE = ("guide", "guide-scratch")
SETTINGS = "guide-settings"
EXPECT = "expect"
MARK = "::guide block {}::"
_FENCE = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_STEP = re.compile(r"^## (\d+)\. ", re.MULTILINE)
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)


class GuideError(Exception):
    """The guide no longer has the shape this runner reads."""


@dataclass
class Block:
    kind: str
    body: str
    step: int
    expect: list[str] = field(default_factory=list)


def runnable(markdown: str) -> list[Block]:
    """The runnable blocks in order, each with the expect block that follows it."""
    found: list[Block] = []
    previous = ""
    for fence in _FENCE.finditer(markdown):
        language, kind, body = fence.groups(default="")
        if language == "sh" and kind in RUNNABLE:
            step = len(_STEP.findall(markdown, 0, fence.start()))
            found.append(Block(kind, textwrap.dedent(body), step))
        elif language == "text" and kind == EXPECT:
            if previous not in RUNNABLE:
                raise GuideError(f"an expect block follows no runnable block: {body!r}")
            found[-1].expect = [line for line in body.splitlines() if line.strip()]
        previous = kind if language in ("sh", "text") else ""
    return found


def setting_names(markdown: str) -> list[str]:
    settings = [body for language, kind, body in _FENCE.findall(markdown) if kind == SETTINGS]
    if len(settings) != 1:
        raise GuideError(f"{len(settings)} ```sh {SETTINGS} blocks, expected one")
    return _ASSIGNMENT.findall(settings[0])


def _asserting_failures(body: str) -> str:
    """`! command` is a learner's "this fails"; under `set -e` bash ignores a negated command
    either way, so the script makes a success of it stop the run."""
    lines = []
    for line in body.splitlines():
        if not line.startswith("! "):
            lines.append(line)
        elif line.endswith("\\"):
            raise GuideError(f"a negated command spans lines: {line!r}")
        else:
            lines.append(f"{line} || {{ echo 'guide: expected to fail: {line[2:]}' >&2; exit 1; }}")
    return "\n".join(lines) + "\n"


def script(
    markdown: str,
    values: Mapping[str, str],
    scratch: Path,
    before_step: tuple[int, str] = (0, ""),
    steps: Collection[int] | None = None,
) -> str:
    """The guide as one bash script with VALUES as its settings; each block's output follows a
    MARK line with its number, so that its expect lines are looked for in its own output.
    BEFORE_STEP (N, COMMAND) runs COMMAND once, before step N's first block. STEPS (all when
    None) are the steps whose blocks run (0: those before step 1)."""
    names = setting_names(markdown)
    if sorted(names) != sorted(values):
        raise GuideError(
            f"the guide's settings are {sorted(names)}, the runner gives {sorted(values)}"
        )
    parts = ["set -eu", *(f"{name}={shlex.quote(values[name])}" for name in names)]
    hook_step, hook = before_step
    for number, block in enumerate(runnable(markdown)):
        if steps is not None and block.step not in steps:
            continue
        if hook and block.step >= hook_step:
            parts.append(hook)
            hook = ""
        parts.append(f"echo {shlex.quote(MARK.format(number))}")
        body = _asserting_failures(block.body)
        if block.kind == "guide-scratch":
            body = f"pushd {shlex.quote(str(scratch))} >/dev/null\n{body}popd >/dev/null\n"
        parts.append(body)
    parts.append(f"echo {shlex.quote(MARK.format('end'))}")
    return "\n".join(parts)


def outputs(log: str) -> dict[int, str]:
    """Each block's output in LOG, by block number."""
    pieces = re.split(r"^::guide block (\d+|end)::$", log, flags=re.MULTILINE)
    return {
        int(number): text
        for number, text in zip(pieces[1::2], pieces[2::2], strict=True)
        if number != "end"
    }


def missing(blocks: list[Block], log: str, steps: Collection[int] | None = None) -> list[str]:
    """The expect lines of STEPS' blocks that their block's output lacks (a block that never ran
    lacks all)."""
    seen = outputs(log)
    return [
        f"block {number}: {line!r}"
        for number, block in enumerate(blocks)
        if steps is None or block.step in steps
        for line in block.expect
        if line.strip() not in seen.get(number, "")
    ]
