"""`python -m deploy backup` / `restore` against a scripted VM: what runs on it, in which order,
and that a refusal runs nothing that changes it. (The flows themselves run against a real
redis-server in tests/integration/test_backup_restore.py.)"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from backup.snapshot import write_backup
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.redis_backup import VOLUME_AND_USER, backup, restore
from deploy.ssh import Result, command_line

ROOT = "/srv/linkpulse"
SHA = "0123456789abcdef0123456789abcdef01234567"
RDB = b"REDIS0012" + bytes(20)
CONTAINERS = {"redis": "r1", "web": "w1", "worker": "k1", "nginx": "n1"}


def _inspected(ids: Sequence[str]) -> str:
    service = {cid: name for name, cid in CONTAINERS.items()}
    return json.dumps(
        [
            {
                "Id": cid,
                "Name": f"/linkpulse-{service[cid]}-1",
                "Config": {
                    "Image": f"registry/{service[cid]}:{SHA}",
                    "Labels": {"com.docker.compose.service": service[cid]},
                },
                "State": {"Status": "running", "Health": {"Status": "healthy"}},
            }
            for cid in ids
        ]
    )


class ScriptedVm:
    """Answers the commands VmRedis runs as the VM would; records every one."""

    def __init__(self, dbsize: int) -> None:
        self.dbsize = dbsize
        self.saves = 0
        self.log: list[str] = []
        self.uploaded: bytes = b""

    def __enter__(self) -> ScriptedVm:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, argv: Sequence[str], **_: object) -> Result:
        return self.shell(command_line(argv))

    def shell(self, line: str, **_: object) -> Result:
        self.log.append(line)
        return Result(0, self._answer(shlex.split(line)), "")

    def _answer(self, words: list[str]) -> str:
        if words[:2] == ["docker", "ps"]:
            return CONTAINERS[words[-1].rsplit("=", 1)[-1]]
        if words[:3] == ["docker", "inspect", "--format"]:
            return "linkpulse_redis-data 999:999"
        if words[:2] == ["docker", "inspect"]:
            return _inspected(words[2:])
        if words[:2] == ["docker", "exec"] and "redis-cli" in words:
            return self._redis(words[words.index("redis-cli") + 1 :])
        if words[:2] == ["cat", f"{ROOT}/current"]:
            return SHA
        return ""

    def _redis(self, command: list[str]) -> str:
        if command[0] == "BGSAVE":
            self.saves += 1
            return "Background saving started"
        if command[0] == "INFO":
            return (
                f"rdb_saves:{self.saves}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok"
            )
        return {"DBSIZE": str(self.dbsize), "EXISTS": "0"}.get(command[0], "0")

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        self.log.append(f"write {path}")

    def get(self, remote: str, local: Path) -> None:
        self.log.append(f"get {remote}")
        local.write_bytes(RDB)

    def put(self, local: Path, remote: str) -> None:
        self.log.append(f"put {remote}")
        self.uploaded = local.read_bytes()


def _index(log: list[str], start: str) -> int:
    return next(n for n, line in enumerate(log) if line.startswith(start))


def test_a_backup_is_a_bgsave_copied_off_the_vm_named_by_the_current_release(
    tmp_path: Path,
) -> None:
    vm = ScriptedVm(dbsize=3)
    path = backup(vm, Layout(ROOT), tmp_path)  # type: ignore[arg-type]

    assert path.name.startswith(f"linkpulse-{SHA[:12]}-")
    assert path.read_bytes() == RDB
    assert _index(vm.log, "docker exec r1 sh -c") < _index(vm.log, "docker cp r1:/data/dump.rdb")
    assert f"rm -f {ROOT}/backup.rdb.partial" in vm.log
    # The password is read inside the container, never put on a command line.
    assert all("REDIS_PASSWORD=" not in line for line in vm.log)


def test_a_restore_uploads_first_then_stops_writers_installs_and_starts_redis_first(
    tmp_path: Path,
) -> None:
    vm = ScriptedVm(dbsize=5)
    path = write_backup(tmp_path, "b.rdb", RDB)

    restore(vm, Layout(ROOT), path, force=True)  # type: ignore[arg-type]

    assert vm.uploaded == RDB
    log = vm.log
    install = _index(log, "docker run --rm -i --user 999:999 --volume linkpulse_redis-data:/data")
    assert log[install].endswith(f"<{ROOT}/restore.rdb")
    assert (
        _index(log, f"mkdir {ROOT}/deploy.lock")
        < _index(log, f"put {ROOT}/restore.rdb")
        < _index(log, "docker stop --time 30 w1 k1")
        < _index(log, "docker stop --time 30 r1")
        < install
        < _index(log, "docker start r1")
        < _index(log, "docker start w1 k1")
        < _index(log, "docker exec n1 nginx -s reload")
        < _index(log, f"rm -rf {ROOT}/deploy.lock")
    )
    assert VOLUME_AND_USER in " ".join(log)


def test_a_restore_onto_a_redis_with_data_without_force_changes_nothing(tmp_path: Path) -> None:
    vm = ScriptedVm(dbsize=5)
    path = write_backup(tmp_path, "b.rdb", RDB)

    with pytest.raises(
        DeployError, match="restore: Redis is not empty: restoring would lose 5 keys"
    ):
        restore(vm, Layout(ROOT), path, force=False)  # type: ignore[arg-type]

    changing = ("put", "docker stop", "docker run", "docker start")
    assert [line for line in vm.log if line.startswith(changing)] == []
    assert vm.log[-1] == f"rm -rf {ROOT}/deploy.lock"


def test_a_bad_backup_file_is_refused_before_the_vm_is_reached(tmp_path: Path) -> None:
    vm = ScriptedVm(dbsize=0)
    with pytest.raises(DeployError, match=r"restore: .*: no such file"):
        restore(vm, Layout(ROOT), tmp_path / "missing.rdb", force=True)  # type: ignore[arg-type]
    assert vm.log == []
