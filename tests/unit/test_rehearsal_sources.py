"""The rehearsal's releases are made by replacing an exact text of this checkout: each must be
there exactly once, or the rehearsal fails two seconds in, after a long build (issue 20's
redirect change once moved a docstring B's patch replaced)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehearsal.sources import PATCHES

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("version", "path", "old"), [(p[0], p[2], p[3]) for p in PATCHES], ids=[p[0] for p in PATCHES]
)
def test_every_release_patch_finds_its_text_exactly_once(version: str, path: str, old: str) -> None:
    assert (REPO_ROOT / path).read_text().count(old) == 1, f"release {version}: {path}"
