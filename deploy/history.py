"""The VM's release history: one JSON line per deploy or rollback, appended, never rewritten."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from deploy.host import Host
from deploy.ssh import command_line

OK = "ok"
ROLLED_BACK = "rolled-back"
FAILED = "failed"
# The automatic rollback after a failure failed too: the lock stays held (deploy/outcome.py).
ROLLBACK_FAILED = "rollback-failed"


@dataclass(frozen=True)
class Record:
    sha: str
    action: str  # deploy | rollback
    who: str
    started: str
    duration_s: float
    outcome: str  # ok | rolled-back | failed | rollback-failed
    reason: str = ""
    previous: str = ""
    stage: str = ""  # where a failed one failed
    settings: str = ""  # environment, digest and changes (deploy/release_settings.py)
    # A canary deploy's judged steps, each with its table (deploy/canary.py).
    canary: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def parse_history(text: str) -> list[Record]:
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(Record(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a torn last line from a killed deploy; the rest still counts
    return records


def good_releases(records: Iterable[Record]) -> list[str]:
    """Shas that passed their checks, most recent first, each once."""
    seen: list[str] = []
    for record in reversed(list(records)):
        if record.outcome == OK and record.sha not in seen:
            seen.append(record.sha)
    return seen


def rollback_target(records: Sequence[Record], current: str | None) -> str | None:
    """The last release that passed its checks and is not the one running now."""
    for sha in good_releases(records):
        if sha != current:
            return sha
    return None


def format_table(records: Sequence[Record]) -> str:
    lines = [
        f"{'started (UTC)':<25} {'action':<8} {'sha':<12} {'outcome':<15} {'took':>7}  who / reason"
    ]
    for r in records:
        where = f"{r.stage}: " if r.stage else ""
        detail = r.who + (f" / {where}{r.reason}" if r.reason else "")
        detail += f" [settings {r.settings.split(':')[0]}]" if r.settings else ""
        lines.append(
            f"{r.started:<25} {r.action:<8} {r.sha[:12]:<12} {r.outcome:<15} "
            f"{r.duration_s:>6.1f}s  {detail}"
        )
    return "\n".join(lines)


class History:
    def __init__(self, remote: Host, remote_dir: str) -> None:
        self.remote = remote
        self.path = f"{remote_dir}/history.jsonl"

    def read(self) -> list[Record]:
        result = self.remote.run(["cat", self.path], check=False)
        return parse_history(result.stdout) if result.ok else []

    def append(self, record: Record) -> None:
        self.remote.shell(f"cat >> {command_line([self.path])}", stdin=record.to_json() + "\n")
