"""A stand-in for deploy.ssh.Remote in unit tests of pure logic: it records every command and
file, and answers each command from a script (the first rule whose words all appear in it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploy.ssh import Result, command_line

OK = Result(0, "", "")


@dataclass
class RecordingRemote:
    label: str = "deploy@vm:22"
    # (words that must all be in the command line, the answer), first match wins; default: OK.
    answers: list[tuple[tuple[str, ...], Result]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    argvs: list[list[str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    stdins: list[str | None] = field(default_factory=list)

    def answer(self, *words: str, exit_code: int = 0, stdout: str = "", stderr: str = "") -> None:
        self.answers.append((words, Result(exit_code, stdout, stderr)))

    def run(self, argv: Sequence[str], *, check: bool = True, **kwargs: object) -> Result:
        self.argvs.append(list(argv))
        return self.shell(command_line(argv), check=check, **kwargs)

    def shell(
        self, line: str, *, check: bool = True, stdin: str | None = None, **_: object
    ) -> Result:
        self.commands.append(line)
        self.stdins.append(stdin)
        result = next((r for words, r in self.answers if all(w in line for w in words)), OK)
        if check and not result.ok:
            raise AssertionError(f"a checked command failed in the script: {line}")
        return result

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        self.files[path] = content

    def get(self, remote: str, local: Path) -> None:
        local.write_text(self.files.get(remote, f"log of {remote}\n"))
