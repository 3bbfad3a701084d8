"""The runbooks' read-only diagnosis commands work against the running stack, as written.

An operator copies these during an incident; a command that fails there (a renamed service, a
key that moved, a tool missing from an image) costs the most at the worst moment. Only the
commands that look are run: `docker compose ps`, `logs` and `exec`, minus those that change
something. `exec` gets `-T` because no terminal is attached here.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.stack.stack import REPO_ROOT, Stack

pytestmark = pytest.mark.stack

RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
READ_ONLY_VERBS = {"ps", "logs", "exec"}
# exec commands in the runbooks that change something.
CHANGING = ("nginx -s ",)
_FENCED_SH = re.compile(r"^[ \t]*```sh\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_TRAILING_COMMENT = re.compile(r"\s+#\s.*$")


def _shell_lines(text: str) -> list[str]:
    """Commands of the ```sh blocks: continuation lines joined, trailing comments dropped."""
    lines: list[str] = []
    for block in _FENCED_SH.findall(text):
        joined = re.sub(r"\\\n\s*", "", block)
        lines.extend(_TRAILING_COMMENT.sub("", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def read_only_commands() -> list[tuple[str, str]]:
    commands = []
    for runbook in sorted(RUNBOOKS.glob("*.md")):
        for line in _shell_lines(runbook.read_text()):
            words = line.split()
            if words[:2] != ["docker", "compose"] or len(words) < 3:
                continue
            if words[2] not in READ_ONLY_VERBS or "<" in line or any(c in line for c in CHANGING):
                continue
            commands.append((runbook.stem, line))
    return commands


def _first_stage(command: str) -> str:
    """The command before its first pipe outside quotes (the one that talks to the stack)."""
    quote = ""
    for position, char in enumerate(command):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            return command[:position].strip()
    return command


def _run(command: str) -> subprocess.CompletedProcess[str]:
    command = command.replace("docker compose exec ", "docker compose exec -T ", 1)
    return subprocess.run(
        ["bash", "-c", command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_runbooks_have_commands_to_check() -> None:
    assert len(read_only_commands()) >= 20


@pytest.mark.parametrize(
    ("runbook", "command"),
    read_only_commands(),
    ids=[f"{runbook}-{number}" for number, (runbook, _) in enumerate(read_only_commands())],
)
def test_runbook_command_works(stack: Stack, runbook: str, command: str) -> None:
    for part in dict.fromkeys((_first_stage(command), command)):
        result = _run(part)
        assert result.returncode == 0, (
            f"{runbook}.md: `{part}` exited {result.returncode}:\n{result.stderr[-2000:]}"
        )
