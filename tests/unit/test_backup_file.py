"""The backup file: its name, its checksum, and the one-line refusals of anything else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup.snapshot import (
    BackupError,
    Contents,
    backup_name,
    checksum_path,
    parse_info,
    read_backup,
    write_backup,
)

RDB = b"REDIS0012\xfa\x09redis-ver\x058.0.2\xff" + bytes(8)
AT = datetime(2026, 12, 3, 13, 5, 9, tzinfo=UTC)


def test_the_name_carries_the_release_sha_or_local_and_the_utc_time() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert backup_name(sha, AT) == "linkpulse-0123456789ab-20261203T130509Z.rdb"
    assert backup_name("unknown", AT) == "linkpulse-local-20261203T130509Z.rdb"
    assert backup_name("", AT) == "linkpulse-local-20261203T130509Z.rdb"


def test_a_written_backup_reads_back_and_its_checksum_is_in_sha256sum_format(
    tmp_path: Path,
) -> None:
    path = write_backup(tmp_path / "backups", "b.rdb", RDB)
    assert read_backup(path) == RDB
    digest, name = checksum_path(path).read_text().split()
    assert (len(digest), name) == (64, "b.rdb")
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.rdb", "b.rdb.sha256"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.unlink(), "no such file"),
        (lambda path: checksum_path(path).unlink(), "no checksum file b.rdb.sha256 beside it"),
        (lambda path: path.write_bytes(RDB + b"x"), "sha256 differs from b.rdb.sha256"),
    ],
)
def test_a_missing_or_damaged_backup_is_refused_in_one_line(
    tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    path = write_backup(tmp_path, "b.rdb", RDB)
    damage(path)
    with pytest.raises(BackupError, match=message) as refused:
        read_backup(path)
    assert "\n" not in str(refused.value)


def test_a_file_that_is_not_an_rdb_is_refused_even_with_a_matching_checksum(
    tmp_path: Path,
) -> None:
    path = write_backup(tmp_path, "notes.rdb", b"just some text\n")
    with pytest.raises(BackupError, match="not a Redis RDB file"):
        read_backup(path)


@pytest.mark.parametrize(
    ("held", "empty"),
    [
        (Contents(keys=0, links=0, stream_exists=False, stream_length=0, pending=0), True),
        # What the worker creates as it starts: an empty stream with its group.
        (Contents(keys=1, links=0, stream_exists=True, stream_length=0, pending=0), True),
        (Contents(keys=1, links=0, stream_exists=True, stream_length=3, pending=0), False),
        (Contents(keys=1, links=1, stream_exists=False, stream_length=0, pending=0), False),
        (Contents(keys=2, links=0, stream_exists=True, stream_length=0, pending=0), False),
    ],
)
def test_only_a_redis_without_data_counts_as_empty(held: Contents, empty: bool) -> None:
    assert held.is_empty() is empty


def test_info_fields_are_read_past_section_headers_and_carriage_returns() -> None:
    text = "# Persistence\r\nrdb_saves:3\r\nrdb_bgsave_in_progress:0\r\n\r\n"
    assert parse_info(text) == {"rdb_saves": "3", "rdb_bgsave_in_progress": "0"}
