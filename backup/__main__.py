"""`python -m backup create [--dir DIR]` / `python -m backup restore FILE [--force]` on the local
compose stack (`make backup` / `make restore`). A failure: one line on stderr, exit status 1."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from backup.compose import ComposeRedis
from backup.snapshot import BackupError, contents, read_backup, restore_backup, take_backup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backup", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="snapshot the stack's Redis into DIR")
    create.add_argument("--dir", type=Path, default=Path("backups"))
    restore = verbs.add_parser("restore", help="replace the stack's Redis with FILE")
    restore.add_argument("file", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a Redis that holds data")
    args = parser.parse_args(argv)
    try:
        if args.verb == "create":
            host = ComposeRedis()
            held = contents(host)
            path = take_backup(host, args.dir, datetime.now(UTC))
            print(f"backup of a Redis holding {held.describe()}")
            print(path)
        else:
            rdb = read_backup(args.file)  # a bad file is refused before the stack is looked at
            restored = restore_backup(ComposeRedis(), rdb, force=args.force)
            print(f"restored {args.file}: {restored.describe()}")
    except BackupError as error:
        print(f"{args.verb}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
