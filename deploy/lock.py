"""The deploy lock on the VM: a directory created atomically, with its holder written inside.

`mkdir` either creates the directory or fails because it exists, so two deploys can never both
hold it. The holder file records who, since when and until when: a lock left by a killed deploy
is visible (`lock status`) and can be released (`lock release`), but it is never taken over
silently, because the VM may be half-switched.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from deploy.errors import DeployError
from deploy.host import Host


@dataclass(frozen=True)
class LockInfo:
    owner: str
    action: str
    started: str
    expires: str

    @classmethod
    def new(cls, owner: str, action: str, now: datetime, ttl: timedelta) -> LockInfo:
        return cls(
            owner,
            action,
            now.isoformat(timespec="seconds"),
            (now + ttl).isoformat(timespec="seconds"),
        )

    @classmethod
    def parse(cls, text: str) -> LockInfo:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return cls("unknown (unreadable holder file)", "unknown", "unknown", "unknown")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def expired(self, now: datetime) -> bool:
        try:
            return datetime.fromisoformat(self.expires) < now
        except ValueError:
            return True

    def describe(self, now: datetime) -> str:
        state = "EXPIRED (left by a killed deploy?)" if self.expired(now) else "held"
        return (
            f"{state}: {self.action} by {self.owner} since {self.started}, expires {self.expires}"
        )


class DeployLock:
    def __init__(self, remote: Host, remote_dir: str) -> None:
        self.remote = remote
        self.path = f"{remote_dir}/deploy.lock"
        self.holder_file = f"{self.path}/holder.json"

    def read(self) -> LockInfo | None:
        result = self.remote.run(["cat", self.holder_file], check=False)
        if result.ok:
            return LockInfo.parse(result.stdout)
        exists = self.remote.run(["test", "-d", self.path], check=False)
        if exists.ok:  # created but the holder not yet written (or a crash in between)
            return LockInfo.parse("")
        return None

    def acquire(self, info: LockInfo) -> None:
        if self.remote.run(["mkdir", self.path], check=False).ok:
            self.remote.write_file(self.holder_file, info.to_json())
            return
        holder = self.read()
        if holder is not None and holder.owner.startswith("unknown"):
            time.sleep(1.0)  # taken a moment ago: its holder file is being written
            holder = self.read()
        now = datetime.now(UTC)
        described = holder.describe(now) if holder else "held (holder unknown)"
        raise DeployError(
            f"deploy lock on the VM is {described}; "
            "if that deploy is dead: `python -m deploy lock release`"
        )

    def release(self) -> None:
        self.remote.run(["rm", "-rf", self.path])
