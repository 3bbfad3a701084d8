"""The deploy lock on the VM: a directory created atomically, with its holder written inside.

`mkdir` either creates the directory or fails because it exists, so two deploys can never both
hold it. The holder file records who, from which controller (host and pid), since when and until
when. A lock is never taken over by a deploy, because the VM may be half-switched: a person
looks at `status` and releases it (`lock release`), and only a holder that is provably gone can
be released without `--force`:
- on the controller that took it, a holder whose pid no longer runs is STALE at once;
- from anywhere, a holder that stopped renewing its judging lease (below) is STALE within
  JUDGING_LEASE_S, and any other holder is STALE once its expiry has passed (a controller that
  is not this one cannot be asked whether its process still runs).

While the SLO check judges a release, `judging.json` inside the lock names the release serving
unjudged and since when; the deploy touches it at every reading (its lease, timed by the VM's
own clock) and removes it once the verdict is in. A stale holder with that file left means the
release serves unverified and nothing will ever judge it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from deploy.errors import DeployError
from deploy.host import Host

# The SLO check reads Prometheus every 5 s, and one reading may take up to three 10 s queries:
# a lease untouched for this long belongs to a deploy that is no longer judging.
JUDGING_LEASE_S = 90
# Seconds since the judging file was last touched, on the VM's clock (no controller clock skew).
LEASE_AGE_SCRIPT = 'echo $(( $(date +%s) - $(stat -c %Y "$1") ))'


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        return True
    return True


@dataclass(frozen=True)
class LockInfo:
    owner: str
    action: str
    started: str
    expires: str
    host: str = ""
    pid: int = 0

    @classmethod
    def new(cls, owner: str, action: str, now: datetime, ttl: timedelta) -> LockInfo:
        return cls(
            owner,
            action,
            now.isoformat(timespec="seconds"),
            (now + ttl).isoformat(timespec="seconds"),
            socket.gethostname(),
            os.getpid(),
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


@dataclass(frozen=True)
class Judging:
    """The release the SLO check is judging; lease_age_s: since its last renewal (VM clock)."""

    sha: str
    since: str
    lease_age_s: float


def stale_reason(
    holder: LockInfo,
    judging: Judging | None,
    now: datetime,
    *,
    here: str | None = None,
    alive: Callable[[int], bool] = process_alive,
) -> str:
    """Why HOLDER is provably gone, or "" while it may still run."""
    if holder.owner.startswith("unknown"):
        return "its holder file is unreadable"
    if holder.pid > 0 and holder.host == (here or socket.gethostname()):
        return "" if alive(holder.pid) else f"its process {holder.pid} on {holder.host} is gone"
    if judging is not None:
        if judging.lease_age_s <= JUDGING_LEASE_S:
            return ""
        return f"its SLO check stopped renewing its lease {judging.lease_age_s:.0f}s ago"
    return f"it expired at {holder.expires}" if holder.expired(now) else ""


@dataclass(frozen=True)
class LockState:
    holder: LockInfo
    judging: Judging | None
    stale: str  # why the holder is gone; "" while it may run

    def lines(self) -> list[str]:
        h = self.holder
        where = f" on {h.host} (pid {h.pid})" if h.host else ""
        state = f"STALE ({self.stale})" if self.stale else "held"
        lines = [f"{state}: {h.action} by {h.owner}{where} since {h.started}, expires {h.expires}"]
        if self.judging is not None:
            sha = self.judging.sha[:12]
            if self.stale:
                lines.append(
                    f"release {sha} is serving unverified since {self.judging.since}, "
                    "its deploy is gone: `python -m deploy lock release`, then deploy it again "
                    "or `python -m deploy rollback`"
                )
            else:
                lines.append(f"release {sha} is being judged since {self.judging.since}")
        return lines


def describe_lock(state: LockState | None) -> list[str]:
    """What `lock status` prints, and `status` under its own lines."""
    return ["free"] if state is None else state.lines()


class DeployLock:
    def __init__(self, remote: Host, remote_dir: str) -> None:
        self.remote = remote
        self.path = f"{remote_dir}/deploy.lock"
        self.holder_file = f"{self.path}/holder.json"
        self.judging_file = f"{self.path}/judging.json"

    def read(self) -> LockInfo | None:
        result = self.remote.run(["cat", self.holder_file], check=False)
        if result.ok:
            return LockInfo.parse(result.stdout)
        exists = self.remote.run(["test", "-d", self.path], check=False)
        if exists.ok:  # created but the holder not yet written (or a crash in between)
            return LockInfo.parse("")
        return None

    def judging(self) -> Judging | None:
        record = self.remote.run(["cat", self.judging_file], check=False)
        age = self.remote.run(["sh", "-c", LEASE_AGE_SCRIPT, "sh", self.judging_file], check=False)
        if not record.ok or not age.ok:
            return None
        try:
            fields = json.loads(record.stdout)
            return Judging(fields["sha"], fields["since"], float(age.stdout))
        except (ValueError, KeyError, TypeError):
            return None

    def state(self, now: datetime) -> LockState | None:
        holder = self.read()
        if holder is None:
            return None
        judging = self.judging()
        return LockState(holder, judging, stale_reason(holder, judging, now))

    def acquire(self, info: LockInfo) -> None:
        if self.remote.run(["mkdir", self.path], check=False).ok:
            self.remote.write_file(self.holder_file, info.to_json())
            return
        state = self.state(datetime.now(UTC))
        if state is not None and state.holder.owner.startswith("unknown"):
            time.sleep(1.0)  # taken a moment ago: its holder file is being written
            state = self.state(datetime.now(UTC))
        if state is None:
            raise DeployError("deploy lock on the VM is held (holder unknown)")
        advice = (
            "look at `python -m deploy status`, then `python -m deploy lock release`"
            if state.stale
            else "wait for it to end (`lock release --force` only if you know it is dead)"
        )
        raise DeployError(f"deploy lock on the VM is {'; '.join(state.lines())}; {advice}")

    def start_judging(self, sha: str, now: datetime) -> None:
        record = {"sha": sha, "since": now.isoformat(timespec="seconds")}
        self.remote.write_file(self.judging_file, json.dumps(record) + "\n")

    def renew_judging(self) -> None:
        self.remote.run(["touch", self.judging_file])

    def judged(self) -> None:
        self.remote.run(["rm", "-f", self.judging_file])

    def release(self) -> None:
        self.remote.run(["rm", "-rf", self.path])
