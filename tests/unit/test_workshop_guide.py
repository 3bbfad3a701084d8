"""The workshop guide in both languages: the same steps, the same runnable commands in the same
order (a learner following either runs exactly the same thing), and nothing but real targets."""

from __future__ import annotations

import re

import pytest

from deploy.rehearsal.first_deploy import blocks
from tests.support.commands import REPO_ROOT

GUIDES = {language: REPO_ROOT / "docs" / "workshop" / f"{language}.md" for language in ("en", "ko")}
STEP = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def _text(language: str) -> str:
    return GUIDES[language].read_text()


@pytest.mark.parametrize("kind", ["guide", "guide-settings"])
def test_both_languages_run_the_same_commands_in_the_same_order(kind: str) -> None:
    english, korean = blocks(_text("en"), kind), blocks(_text("ko"), kind)
    assert english, f"no ```sh {kind} blocks in en.md"
    assert english == korean


@pytest.mark.parametrize("language", GUIDES)
def test_each_guide_has_the_ten_steps_in_order(language: str) -> None:
    assert [int(n) for n in STEP.findall(_text(language))] == list(range(1, 11))


def test_every_make_target_the_guide_runs_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    used = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", "\n".join(blocks(_text("en"), "guide"))))
    assert used, "the guide runs no make target"
    assert used <= targets, sorted(used - targets)


def test_the_readme_points_learners_to_the_guide() -> None:
    assert "docs/workshop/" in (REPO_ROOT / "README.md").read_text()
