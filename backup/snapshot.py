"""The backup file, and taking and restoring one, whatever runs the Redis (local compose or a VM).

A backup is the RDB of one BGSAVE, named linkpulse-<release>-<UTC time>.rdb, with a .sha256 beside
it in `sha256sum` format (so `sha256sum -c` checks it by hand too). A restore checks the file
before it changes anything, and replaces a Redis that holds data only when told to.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, link_key

# Every RDB starts with "REDIS" and a four-digit format version.
RDB_HEADER = re.compile(rb"REDIS\d{4}")
RELEASE_SHA = re.compile(r"[0-9a-f]{40}")
BGSAVE_DEADLINE_S = 600.0
POLL_S = 0.2

# Run as the Redis user in the data directory, in a container that mounts the data volume while
# redis-server is stopped; the RDB arrives on stdin. Redis runs with AOF on, and then loads only
# the AOF directory (a lone dump.rdb would be ignored), so the RDB becomes that directory's base
# file: Redis loads it and starts a new incremental file beside it. The new directory is complete
# before it replaces the old one, so a failed copy leaves the old data in place.
INSTALL_SCRIPT = """set -eu
new=appendonlydir.restore
rm -rf "$new"
mkdir "$new"
cat >"$new/appendonly.aof.1.base.rdb"
printf 'file appendonly.aof.1.base.rdb seq 1 type b\\n' >"$new/appendonly.aof.manifest"
rm -rf appendonlydir dump.rdb
mv "$new" appendonlydir
"""


class BackupError(Exception):
    """A failure the operator can act on, said in one line; nothing was changed by it."""


class RedisHost(Protocol):
    """Where the Redis runs: the local compose stack, or a deployed VM."""

    def cli(self, *args: str) -> str:
        """redis-cli ARGS inside the redis container, with the password from its environment."""
        ...

    def read_dump(self) -> bytes:
        """The RDB file the last BGSAVE wrote (/data/dump.rdb in the redis container)."""
        ...

    def replace_data(self, rdb: bytes) -> None:
        """Stop web, worker and Redis, install RDB with INSTALL_SCRIPT, start them all again."""
        ...

    def release(self) -> str:
        """The git sha of the running release, or '' when it is not a release."""
        ...


@dataclass(frozen=True)
class Contents:
    keys: int
    links: int
    stream_exists: bool
    stream_length: int
    pending: int

    def is_empty(self) -> bool:
        # The worker creates the stream with its group as it starts, so a fresh stack holds one
        # empty stream: nothing to lose.
        left = self.keys - (1 if self.stream_exists and self.stream_length == 0 else 0)
        return left == 0

    def describe(self) -> str:
        return (
            f"{self.keys} keys: {self.links} links, {self.stream_length} click events in the "
            f"stream ({self.pending} pending)"
        )


def parse_info(text: str) -> dict[str, str]:
    """INFO's `field:value` lines as a dict (section headers and blank lines left out)."""
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and not name.startswith("#"):
            fields[name] = value
    return fields


def _leading_int(reply: str) -> int:
    """The first word of a reply as a number; 0 for an error such as NOGROUP (no such group)."""
    words = reply.split()
    return int(words[0]) if words and words[0].isdigit() else 0


def contents(host: RedisHost) -> Contents:
    return Contents(
        keys=_leading_int(host.cli("DBSIZE")),
        links=len(host.cli("--scan", "--pattern", link_key("*")).split()),
        stream_exists=_leading_int(host.cli("EXISTS", CLICK_STREAM)) == 1,
        stream_length=_leading_int(host.cli("XLEN", CLICK_STREAM)),
        pending=_leading_int(host.cli("XPENDING", CLICK_STREAM, CLICK_GROUP)),
    )


def bgsave(host: RedisHost) -> None:
    """Start a BGSAVE and wait for it to end: one snapshot taken after this call began.

    A save already running began earlier, so it is waited out and a new one asked for; SCHEDULE
    queues ours behind an AOF rewrite instead of failing. rdb_saves counts the saves started
    (at the fork), so once it has grown and none is in progress, a save begun after the
    request has ended, and rdb_last_bgsave_status says how.
    """
    deadline = time.monotonic() + BGSAVE_DEADLINE_S
    while True:
        saves = int(parse_info(host.cli("INFO", "persistence")).get("rdb_saves", "0"))
        reply = host.cli("BGSAVE", "SCHEDULE")
        if "already in progress" not in reply:
            break
        _wait(deadline, "a running BGSAVE to end")
    while True:
        info = parse_info(host.cli("INFO", "persistence"))
        if int(info.get("rdb_saves", "0")) > saves and info.get("rdb_bgsave_in_progress") == "0":
            break
        _wait(deadline, f"BGSAVE ({reply.strip()})")
    status = info.get("rdb_last_bgsave_status")
    if status != "ok":
        raise BackupError(f"BGSAVE failed (rdb_last_bgsave_status {status}): see Redis's log")


def _wait(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise BackupError(f"gave up after {BGSAVE_DEADLINE_S:.0f} s waiting for {what}")
    time.sleep(POLL_S)


def backup_name(release: str, at: datetime) -> str:
    label = release[:12] if RELEASE_SHA.fullmatch(release) else "local"
    return f"linkpulse-{label}-{at:%Y%m%dT%H%M%SZ}.rdb"


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_backup(directory: Path, name: str, rdb: bytes) -> Path:
    """RDB as DIRECTORY/NAME and its checksum beside it; a partly written file never has a name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    partial = directory / f".{name}.partial"
    partial.write_bytes(rdb)
    partial.replace(path)
    checksum_path(path).write_text(f"{hashlib.sha256(rdb).hexdigest()}  {name}\n")
    return path


def read_backup(path: Path) -> bytes:
    """The RDB in PATH, once its checksum and header say it is a backup."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    sums = checksum_path(path)
    if not sums.is_file():
        raise BackupError(f"{path}: no checksum file {sums.name} beside it: not a backup")
    expected = (sums.read_text().split() or [""])[0]
    rdb = path.read_bytes()
    if hashlib.sha256(rdb).hexdigest() != expected:
        raise BackupError(f"{path}: sha256 differs from {sums.name}: the file is damaged")
    if not RDB_HEADER.match(rdb):
        raise BackupError(f"{path}: not a Redis RDB file: not a backup")
    return rdb


def take_backup(host: RedisHost, directory: Path, now: datetime) -> Path:
    bgsave(host)
    rdb = host.read_dump()
    if not RDB_HEADER.match(rdb):
        raise BackupError("the file BGSAVE wrote is not an RDB file")
    return write_backup(directory, backup_name(host.release(), now), rdb)


def restore_backup(host: RedisHost, rdb: bytes, *, force: bool) -> Contents:
    """Replace the Redis's data with RDB (from read_backup); what it holds afterwards."""
    current = contents(host)
    if not current.is_empty() and not force:
        raise BackupError(
            f"Redis is not empty: restoring would lose {current.describe()}; "
            "--force (make: FORCE=1) replaces it"
        )
    host.replace_data(rdb)
    return contents(host)
