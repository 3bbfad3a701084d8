"""Config values that reach a root shell on the VM, each held to a strict pattern at load.

They are passed as argv (or quoted) wherever they are used; the pattern is the second wall, and
it turns a typo into one line naming the key before anything connects.
"""

from __future__ import annotations

import re
from pathlib import Path

from deploy.errors import DeployError

# useradd's own rule on Debian (NAME_REGEX), without its trailing `$` for machine accounts.
USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Absolute, plain components only: no `.` or `..`, spaces, quotes or shell characters.
REMOTE_DIR = re.compile(r"(/(?!\.\.?(?:/|$))[A-Za-z0-9._-]+)+")
# A size as redis-server reads it: bytes, or a number with k/kb/m/mb/g/gb in any case.
REDIS_MAXMEMORY = re.compile(r"[0-9]+(?:[kmgKMG][bB]?|[bB])?")


def check(path: Path, key: str, value: object, pattern: re.Pattern[str], example: str) -> None:
    """DeployError naming KEY unless VALUE is a string that matches PATTERN whole."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DeployError(f"{path}: {key} {value!r} is not allowed: use {example}")
