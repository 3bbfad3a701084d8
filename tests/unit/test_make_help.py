"""`make help` lists every target the Makefile describes, and every target meant to be called
(the phony ones) has a description."""

from __future__ import annotations

import os
import re

from tests.support.commands import REPO_ROOT, run

# A rule line with a `## ` description: `name: prerequisites ## description`.
_DESCRIBED = re.compile(r"^([^\s:#=]+):(?!=)[^#]*## (.+)$")


def _make(*args: str) -> str:
    # Run as a fresh make, not as a sub-make of a `make test-unit` that runs this test.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return run("make", "--no-print-directory", *args, env=env).stdout


def _described() -> dict[str, str]:
    lines = (REPO_ROOT / "Makefile").read_text().splitlines()
    return {m[1]: m[2] for m in map(_DESCRIBED.match, lines) if m}


def _phony() -> set[str]:
    """The .PHONY targets as make itself reads them (its database, nothing run)."""
    database = _make("--print-data-base", "--question", "help")
    return {
        target
        for line in database.splitlines()
        if line.startswith(".PHONY:")
        for target in line.removeprefix(".PHONY:").split()
    }


def test_make_help_lists_every_described_target_with_its_description() -> None:
    listed = [line.split(maxsplit=1) for line in _make("help").splitlines()]
    assert dict(listed) == _described()
    assert [name for name, _ in listed] == list(_described())  # in the Makefile's order


def test_every_phony_target_has_a_description() -> None:
    phony = _phony()
    assert phony  # the database was read
    assert sorted(phony - set(_described())) == []
    assert sorted(set(_described()) - phony) == []
