"""Day two on the rehearsal's VM (issue 17): `backup`, `restore` and `rotate-secret`, run with
the real CLI against the deployed release.

The restore drill: with the load paused (a restore stops web, and a click made between the
backup and the restore would be lost on purpose), the worker is stopped and a drill link clicked,
so the backup holds click events the worker has not counted; the worker counts them; a restore
without --force, and one of a file that is no backup, are refused and change nothing; the
restore with --force brings back every count of the backup, drops the link made after it, and
the worker counts the drill's clicks once more from the restored stream: exactly once in all.
The rotation then runs under the resumed load: no failed request, the old password refused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from backup.snapshot import write_backup
from rehearsal import infra
from rehearsal.drills import ROOT

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

DRILL_CLICKS = 20
CAUGHT_UP_S = 120.0
REFUSED_PASSWORD = ("WRONGPASS", "NOAUTH")
WORKERS = "docker ps --quiet --filter label=com.docker.compose.service=worker"
REDIS = "$(docker ps --quiet --filter label=com.docker.compose.service=redis)"


def clicks(base_url: str, code: str) -> int | None:
    """The link's click count, None when it does not resolve."""
    response = requests.get(f"{base_url}/api/links/{code}/stats", timeout=10)
    time.sleep(0.015)  # stay well inside nginx's per-client read limit
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return int(response.json()["clicks"])


def all_clicks(base_url: str, codes: list[str]) -> dict[str, int | None]:
    return {code: clicks(base_url, code) for code in codes}


def wait_for(wanted: dict[str, int | None], base_url: str) -> dict[str, int | None]:
    """The counts once they equal WANTED (the worker applies clicks in batches), or as they are
    when it gives up: the caller's check then names the difference."""
    deadline = time.monotonic() + CAUGHT_UP_S
    while True:
        now = all_clicks(base_url, list(wanted))
        if now == wanted or time.monotonic() > deadline:
            return now
        time.sleep(1)


class DayTwo:
    def __init__(self, runner: Runner, base_url: str) -> None:
        self.runner = runner
        self.summary = runner.summary
        self.url = base_url
        self.backups = runner.workdir / "backups"

    def run(self) -> None:
        self.runner.load.pause()
        try:
            self._restore_drill()
        finally:
            self.runner.load.resume()
        self._rotate()

    def _redirect(self, code: str, times: int) -> None:
        for _ in range(times):
            response = requests.get(
                f"{self.url}/{code}", allow_redirects=False, timeout=10,
                headers={"Connection": "close"},
            )  # fmt: skip
            response.raise_for_status()

    def _link(self, code: str) -> None:
        url = f"https://example.org/day-two/{code}"
        answer = requests.post(
            f"{self.url}/api/links", json={"url": url, "alias": code}, timeout=10
        )
        answer.raise_for_status()

    def _restore_drill(self) -> None:
        r, load = self.runner, self.runner.load
        served = {code: load.redirects.get(code, 0) for code in load.links}
        before = wait_for(dict(served), self.url)
        self.summary.check(
            "day 2: the load's clicks are counted before the backup", before == served
        )
        drill = f"d{int(time.time())}"
        self._link(drill)
        workers = infra.on_vm(WORKERS).split()
        infra.on_vm(f"docker stop {' '.join(workers)}")
        self._redirect(drill, DRILL_CLICKS)
        backup = r.step("day 2 backup", "backup", "--dir", str(self.backups))
        infra.on_vm(f"docker start {' '.join(workers)}")
        path = Path(backup.last_line)
        self.summary.check(
            "day 2: backup writes an RDB and its sha256 here, the release in its name",
            backup.exit_code == 0
            and path.is_file()
            and Path(f"{path}.sha256").is_file()
            and infra.on_vm(f"cat {ROOT}/current").strip()[:12] in path.name,
        )
        self.summary.notes["day 2 backup bytes"] = path.stat().st_size if path.is_file() else 0
        wanted = {**before, drill: DRILL_CLICKS}
        counted = wait_for(wanted, self.url)
        self._refusals(path, counted)
        after_backup = f"e{int(time.time())}"
        self._link(after_backup)
        restore = r.step("day 2 restore --force", "restore", str(path), "--force")
        restored = wait_for({**wanted, after_backup: None}, self.url)
        self.summary.notes["day 2 restore last line"] = restore.last_line
        self.summary.notes["day 2 drill clicks"] = restored.get(drill)
        self.summary.check("day 2: restore --force succeeds", restore.exit_code == 0)
        self.summary.check(
            "day 2: after the restore every count equals the backup's, the drill's unprocessed "
            "clicks counted exactly once, the link made after the backup gone",
            restored == {**wanted, after_backup: None},
        )

    def _refusals(self, path: Path, counted: dict[str, int | None]) -> None:
        """A file that is no backup, and a restore onto data without --force: one line each."""
        fake = write_backup(self.backups, "not-a-backup.rdb", b"not an RDB\n")
        for name, args, expected in (
            ("a file that is no backup", [str(fake)], "not a backup"),
            ("a non-empty Redis without --force", [str(path)], "would lose"),
        ):
            result = self.runner.tool("restore", *args)
            lines = result.stderr.strip().splitlines()
            self.summary.notes[f"day 2 restore of {name}"] = lines[-1] if lines else ""
            self.summary.check(
                f"day 2: restore of {name}: one clear line, exit 1",
                result.returncode == 1 and len(lines) == 1 and expected in lines[0],
            )
        self.summary.check(
            "day 2: the refused restores changed nothing",
            all_clicks(self.url, list(counted)) == counted,
        )

    def _rotate(self) -> None:
        old = infra.on_vm("sed -n 's/^REDIS_PASSWORD=//p' /srv/linkpulse/.env").strip()
        rotate = self.runner.step(
            "day 2 rotate-secret REDIS_PASSWORD", "rotate-secret", "REDIS_PASSWORD"
        )
        self.summary.check(
            "day 2: rotate-secret REDIS_PASSWORD under load: zero failed requests",
            rotate.exit_code == 0 and rotate.requests > 0 and rotate.failed_requests == 0,
        )
        answer = infra.on_vm(
            f"docker exec --env REDISCLI_AUTH {REDIS} redis-cli PING 2>&1; true",
            env={"REDISCLI_AUTH": old},
        )
        self.summary.notes["day 2 old password answer"] = answer.strip()
        new = self.runner.tool("exec", "redis", "--", "redis-cli", "PING").stdout.strip()
        self.summary.check(
            "day 2: after the rotation Redis refuses the old password and takes the new one",
            bool(old) and any(word in answer for word in REFUSED_PASSWORD) and new == "PONG",
        )
