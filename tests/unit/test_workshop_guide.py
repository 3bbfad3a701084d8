"""The workshop guide in both languages: the same steps, the same runnable commands in the same
order (a learner following either runs exactly the same thing), and nothing but real targets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.guide import guide
from tests.support.commands import REPO_ROOT

GUIDES = {language: REPO_ROOT / "docs" / "workshop" / f"{language}.md" for language in ("en", "ko")}
STEP = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def _text(language: str) -> str:
    return GUIDES[language].read_text()


def test_both_languages_run_the_same_commands_in_the_same_order() -> None:
    """The same blocks, where they run (checkout or scratch) and the output they promise."""
    english, korean = guide.runnable(_text("en")), guide.runnable(_text("ko"))
    assert english, "no runnable blocks in en.md"
    assert english == korean
    assert guide.setting_names(_text("en")) == guide.setting_names(_text("ko"))


@pytest.mark.parametrize("language", GUIDES)
def test_each_guide_has_the_ten_steps_in_order(language: str) -> None:
    assert [int(n) for n in STEP.findall(_text(language))] == list(range(1, 11))


def test_every_make_target_the_guide_runs_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    commands = "\n".join(block.body for block in guide.runnable(_text("en")))
    used = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", commands))
    assert used, "the guide runs no make target"
    assert used <= targets, sorted(used - targets)


def test_the_readme_points_learners_to_the_guide() -> None:
    assert "docs/workshop/" in (REPO_ROOT / "README.md").read_text()


SAMPLE = """
```sh guide-settings
SITE=http://127.0.0.1:8080
```
```sh guide
! false
echo "$SITE"
```
```text expect
http://127.0.0.1:18080
```
```sh guide-scratch
touch edited
```
"""


def test_a_negated_command_that_succeeds_stops_the_script(tmp_path: Path) -> None:
    """Under `set -e` bash ignores `! command` either way; the script must not."""
    text = SAMPLE.replace("! false", "! true")
    script = guide.script(text, {"SITE": "http://127.0.0.1:18080"}, tmp_path)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "expected to fail: true" in result.stderr
    assert not (tmp_path / "edited").exists()


def test_the_script_runs_with_the_runners_settings_and_edits_only_the_scratch(
    tmp_path: Path,
) -> None:
    blocks = guide.runnable(SAMPLE)
    script = guide.script(SAMPLE, {"SITE": "http://127.0.0.1:18080"}, tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "scratch" / "edited").exists()
    assert not (tmp_path / "edited").exists()
    assert guide.missing(blocks, result.stdout) == []
    assert guide.missing(blocks, result.stdout.replace("18080", "8080")) == [
        "block 0: 'http://127.0.0.1:18080'"
    ]


def test_the_runner_gives_exactly_the_guides_settings(tmp_path: Path) -> None:
    with pytest.raises(guide.GuideError, match="SITE"):
        guide.script(SAMPLE, {"URL": "http://127.0.0.1:1"}, tmp_path)


def test_a_hook_runs_once_before_the_steps_first_block(tmp_path: Path) -> None:
    text = "## 1. A\n```sh guide\necho one\n```\n## 2. B\n```sh guide\necho two\n```\n" + (
        "```sh guide\necho three\n```\n```sh guide-settings\nX=1\n```\n"
    )
    script = guide.script(text, {"X": "1"}, tmp_path, (2, "echo hook"))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert [line for line in result.stdout.splitlines() if not line.startswith("::")] == [
        "one",
        "hook",
        "two",
        "three",
    ]


def test_only_the_chosen_steps_run_and_are_judged(tmp_path: Path) -> None:
    text = "## 1. A\n```sh guide\necho one\n```\n```text expect\none\n```\n" + (
        "## 2. B\n```sh guide\necho two\n```\n```text expect\ntwo\n```\n"
        "```sh guide-settings\nX=1\n```\n"
    )
    script = guide.script(text, {"X": "1"}, tmp_path, steps={2})
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert "one" not in result.stdout
    blocks = guide.runnable(text)
    assert guide.missing(blocks, result.stdout, {2}) == []
    assert guide.missing(blocks, result.stdout) == ["block 0: 'one'"]
