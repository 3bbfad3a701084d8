"""A scripted VM for unit tests of the deploy tool's logic: the few commands the lock, the
history and `current` use, on files kept in a dict, every command logged in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.errors import DeployError
from deploy.lock import LEASE_AGE_SCRIPT
from deploy.ssh import Result


class FakeVm:
    label = "deploy@fake-vm:22"

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.dirs: set[str] = set()
        self.touched: dict[str, int] = {}  # path -> the VM clock when last written or touched
        self.clock = 1_000_000
        self.log: list[list[str]] = []

    def __enter__(self) -> FakeVm:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def run(self, argv: Sequence[str], *, check: bool = True, **_: Any) -> Result:
        self.log.append(list(argv))
        result = self._answer(list(argv))
        if check and not result.ok:
            raise DeployError(f"on the fake VM: {' '.join(argv)}: exit {result.exit_code}")
        return result

    def shell(self, line: str, *, check: bool = True, **_: Any) -> Result:
        return self.run(["sh", "-c", line], check=check)

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        self.log.append(["write", path])
        self.files[path] = content
        self.touched[path] = self.clock

    def _answer(self, argv: list[str]) -> Result:
        ok, failed = Result(0, "", ""), Result(1, "", "no")
        match argv:
            case ["mkdir", path]:
                if path in self.dirs:
                    return failed
                self.dirs.add(path)
                return ok
            case ["cat", path]:
                return Result(0, self.files[path], "") if path in self.files else failed
            case ["test", "-d", path]:
                return ok if path in self.dirs else failed
            case ["touch", path]:
                self.touched[path] = self.clock
                self.files.setdefault(path, "")
                return ok
            case ["rm", "-f" | "-rf", path]:
                self.dirs.discard(path)
                for name in [f for f in self.files if f == path or f.startswith(path + "/")]:
                    del self.files[name]
                    self.touched.pop(name, None)
                return ok
            case ["sh", "-c", script, "sh", path] if script == LEASE_AGE_SCRIPT:
                if path not in self.touched:
                    return failed
                return Result(0, f"{self.clock - self.touched[path]}\n", "")
        return Result(127, "", f"the fake VM does not know {argv}")
