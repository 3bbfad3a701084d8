"""How a failed deploy is named and what it leaves: pure functions the orchestration calls on
its failure path (deploy/deployer.py), so every ending is one known, recorded state."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from deploy.errors import DeployError
from deploy.host import Host
from deploy.interrupts import Interrupted

KEPT_FILE = "kept.json"
# Kept's stage for a canary paused on an inconclusive step (deploy/canary_pause.py): held on
# purpose, ended by `promote` or `abort`, not by `lock release`.
PAUSED = "canary paused"


class LockKeptError(DeployError):
    """The deploy ended with the VM in a state nobody checked: the lock stays held (with why)."""


def describe(error: BaseException) -> str:
    """One line for any exception: a known failure by its message, anything else by its type
    too, since an OSError's text alone ("Socket is closed") does not say what broke."""
    if isinstance(error, Interrupted):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted by SIGINT (Ctrl-C)"
    if isinstance(error, DeployError):
        return str(error)
    return f"{type(error).__name__}: {error}".rstrip(": ")


@dataclass(frozen=True)
class Kept:
    """Why a failed deploy kept the deploy lock: written into the lock's directory."""

    reason: str
    sha: str
    previous: str
    stage: str
    since: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, text: str) -> Kept:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return cls("unreadable kept.json: look at the VM", "", "", "", "")

    @property
    def paused(self) -> bool:
        return self.stage == PAUSED

    def describe(self) -> str:
        if self.paused:
            return f"PAUSED since {self.since}: {self.reason}"
        return (
            f"KEPT since {self.since} by a failed deploy: {self.reason}; look at the VM "
            "(`python -m deploy status`, `history`, the bundle), bring it to a known release "
            "with `python -m deploy lock release` then `deploy` or `rollback`"
        )


def keep_lock(host: Host, lock_path: str, kept: Kept) -> None:
    host.write_file(f"{lock_path}/{KEPT_FILE}", kept.to_json() + "\n")


def read_kept(host: Host, lock_path: str) -> Kept | None:
    result = host.run(["cat", f"{lock_path}/{KEPT_FILE}"], check=False)
    return Kept.parse(result.stdout) if result.ok else None
