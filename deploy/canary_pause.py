"""A canary paused on an inconclusive step ([deploy] on_inconclusive = "pause"): its state on the
VM, in the deploy lock it keeps.

Pausing keeps the step's split (both webs serve their share) and the deploy lock, with its
reason in the lock's kept.json, which `lock status` and `status` print, and the step's state in
paused.json beside it, which `deploy promote` and `deploy abort` (deploy/canary_resume.py) read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploy.canary import CanaryPausedError
from deploy.host import Host
from deploy.outcome import PAUSED, Kept, keep_lock

PAUSED_FILE = "paused.json"


@dataclass(frozen=True)
class Paused:
    sha: str
    previous: str
    weight: int
    remaining: list[int]  # the steps promote runs
    started_at: str
    steps: list[dict[str, Any]] = field(default_factory=list)  # judged so far, for history

    @classmethod
    def of(
        cls,
        paused: CanaryPausedError,
        sha: str,
        previous: str,
        started_at: str,
        *,
        weights: list[int],
        steps: list[dict[str, Any]],
    ) -> Paused:
        remaining = [w for w in weights if w > paused.weight]
        return cls(sha, previous, paused.weight, remaining, started_at, steps)


def keep(
    host: Host, lock_path: str, state: Paused, reason: str, note: Callable[[str], None]
) -> None:
    """Leave the lock held by the paused canary STATE, saying why and how to end it."""
    host.write_file(f"{lock_path}/{PAUSED_FILE}", json.dumps(asdict(state)) + "\n")
    since = datetime.now(UTC).isoformat(timespec="seconds")
    keep_lock(host, lock_path, Kept(reason, state.sha, state.previous, PAUSED, since))
    note(f"PAUSED: {reason}")


def read_paused(host: Host, lock_path: str) -> Paused | None:
    raw = host.run(["cat", f"{lock_path}/{PAUSED_FILE}"], check=False)
    return Paused(**json.loads(raw.stdout)) if raw.ok else None
