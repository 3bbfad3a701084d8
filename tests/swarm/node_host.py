"""A swarm node as the deploy tool's host (deploy.host.Host): each command runs in the node's own
shell, as it would over the tool's SSH connection, so the verbs' Swarm code meets a real manager
and its Redis task here (the transport itself is tests/rehearsal's: a real SSH session)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from deploy.errors import DeployError
from deploy.ssh import Result, command_line
from tests.swarm.nodes import Node


class NodeHost:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.label = node.name

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NodeHost:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        stdin: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        return self.shell(command_line(argv), check=check, stdin=stdin, timeout=timeout)

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        self.run(["sh", "-c", f'cat >"$0" && chmod {mode:o} "$0"', path], stdin=content)

    def shell(
        self,
        line: str,
        *,
        check: bool = True,
        stdin: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        done = subprocess.run(
            ["docker", "exec", "--interactive", self.node.name, "sh", "-c", line],
            input=stdin or "", capture_output=True, text=True, timeout=timeout or 600, check=False,
        )  # fmt: skip
        result = Result(done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise DeployError(f"on {self.label}: {line[:160]}: {said[-1] if said else 'failed'}")
        return result
