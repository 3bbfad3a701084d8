"""The host interface: everything the orchestration asks of the machine it deploys to.

`deploy.ssh.Remote` is the one real implementation (a pinned SSH session). The unit tests drive
Deployer through a scripted fake of this interface (tests/support/fake_host.py) that can fail
at any chosen command, so each failure path is exercised in-process without a VM.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from deploy.ssh import Result


class Host(Protocol):
    label: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Result: ...

    def shell(
        self,
        line: str,
        *,
        check: bool = True,
        stdin: str | None = None,
        timeout: float | None = None,
    ) -> Result: ...

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None: ...

    def get(self, remote: str, local: Path) -> None: ...

    def forward(self, local_port: int, remote_port: int) -> AbstractContextManager[None]: ...
