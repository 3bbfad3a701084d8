"""The GitHub workflows' hardening rules, checked on the files themselves (make lint-ci runs
zizmor, yamllint and actionlint on them too)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = sorted((Path(__file__).resolve().parents[2] / ".github" / "workflows").glob("*.yml"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha(path: Path) -> None:
    workflow = _load(path)
    uses = [s["uses"] for s in _steps(workflow) if "uses" in s]
    uses += [j["uses"] for j in workflow["jobs"].values() if "uses" in j]
    for ref in uses:
        if ref.startswith("./"):
            continue  # a workflow of this repository, at this commit
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_no_persisted_credentials(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} names its permissions"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_run(path: Path) -> None:
    for step in _steps(_load(path)):
        assert "${{" not in step.get("run", ""), step


def test_release_waits_for_ci_and_never_runs_two_deploys_at_once() -> None:
    release = _load(next(p for p in WORKFLOWS if p.name == "release.yml"))
    triggers = release[True]  # YAML 1.1 reads the key `on` as true
    assert "workflow_run" not in triggers
    assert "workflow_dispatch" in triggers
    jobs = release["jobs"]
    assert jobs["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["images"]["needs"] == ["ci", "arm64"]
    assert jobs["arm64"]["steps"][-1]["run"].endswith("make test-arm64")
    assert jobs["deploy"]["environment"] == "production"
    assert jobs["deploy"]["concurrency"]["cancel-in-progress"] is False
