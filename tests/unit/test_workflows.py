"""The GitHub workflows' hardening rules, checked on the files themselves (make lint-ci runs
zizmor, yamllint and actionlint on them too)."""

from __future__ import annotations

import re
from collections.abc import Callable
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


# --- The release workflow's decisions, evaluated -------------------------------------------------
# A small evaluator of the GitHub expression syntax these conditions use: context paths, string
# literals, ==, &&, || (which return an operand, as GitHub's do), parentheses and always().
TOKEN = re.compile(r"\s*(?:(\|\||&&|==|\(|\))|'([^']*)'|([A-Za-z_][\w.-]*)(\(\))?)")


def tokenize(expression: str, context: dict[str, object]) -> list[tuple[str, object]]:
    """Operators as ("op", text); literals, context values and always() as ("value", value)."""
    text = expression.strip().removeprefix("${{").removesuffix("}}").strip()
    tokens: list[tuple[str, object]] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        assert match, f"cannot read {text[position:]!r}"
        operator, literal, name, call = match.groups()
        if operator:
            tokens.append(("op", operator))
        elif literal is not None:
            tokens.append(("value", literal))
        else:
            assert not call or name == "always", name
            tokens.append(("value", True if call else context[name]))
        position = match.end()
    return tokens


class Expression:
    """Precedence as GitHub's: == binds tighter than &&, && than ||."""

    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens = tokens
        self.at = 0

    def next_is(self, operator: str) -> bool:
        if self.at < len(self.tokens) and self.tokens[self.at] == ("op", operator):
            self.at += 1
            return True
        return False

    def either(self) -> object:
        return self.chain("||", self.both, lambda left, right: left or right)

    def both(self) -> object:
        return self.chain("&&", self.equals, lambda left, right: left and right)

    def chain(
        self,
        operator: str,
        operand: Callable[[], object],
        combine: Callable[[object, object], object],
    ) -> object:
        """Left to right, and every operand read (GitHub's || and && return an operand)."""
        value = operand()
        while self.next_is(operator):
            value = combine(value, operand())
        return value

    def equals(self) -> object:
        value = self.atom()
        return value == self.atom() if self.next_is("==") else value

    def atom(self) -> object:
        if self.next_is("("):
            value = self.either()
            assert self.next_is(")")
            return value
        kind, value = self.tokens[self.at]
        assert kind == "value", self.tokens[self.at]
        self.at += 1
        return value


def evaluate(expression: str, context: dict[str, object]) -> object:
    parser = Expression(tokenize(expression, context))
    value = parser.either()
    assert parser.at == len(parser.tokens), f"trailing tokens in {expression!r}"
    return value


HEAD = "1" * 40
CHOSEN = "2" * 40


def event(name: str, action: str = "", sha: str = "", **results: str) -> dict[str, object]:
    context: dict[str, object] = {
        "github.event_name": name,
        "github.sha": HEAD,
        "inputs.action": action,
        "inputs.sha": sha,
    }
    for job in ("images", "scan-plan", "scan"):
        context[f"needs.{job}.result"] = results.get(job.replace("-", "_"), "skipped")
    return context


def release_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = _load(next(p for p in WORKFLOWS if p.name == "release.yml"))["jobs"]
    return jobs


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (event("push"), HEAD),
        (event("workflow_dispatch", "deploy", CHOSEN), CHOSEN),
        (event("workflow_dispatch", "rollback", CHOSEN), CHOSEN),
        # No sha: the rollback goes to the VM's last good release, never to the branch's head.
        (event("workflow_dispatch", "rollback"), ""),
        (event("workflow_dispatch", "deploy"), ""),
    ],
)
def test_the_deployed_sha_is_the_pushed_one_or_the_dispatched_one_never_head_by_default(
    context: dict[str, object], expected: str
) -> None:
    jobs = release_jobs()
    assert evaluate(jobs["deploy"]["env"]["SHA"], context) == expected
    assert evaluate(jobs["scan-plan"]["env"]["SHA"], context) == expected
    assert evaluate(jobs["scan-plan"]["steps"][0]["with"]["ref"], context) == expected


@pytest.mark.parametrize(
    ("context", "deploys"),
    [
        (event("push", images="success", scan_plan="success", scan="success"), True),
        (event("push", images="success", scan_plan="success", scan="failure"), False),
        (event("push", images="failure"), False),
        (event("workflow_dispatch", "deploy", CHOSEN, scan_plan="success", scan="success"), True),
        (event("workflow_dispatch", "deploy", CHOSEN, scan_plan="success", scan="failure"), False),
        (event("workflow_dispatch", "deploy", "", scan_plan="failure"), False),
        (event("workflow_dispatch", "rollback"), True),
    ],
)
def test_only_a_scanned_sha_is_deployed_and_a_rollback_is_never_held_back(
    context: dict[str, object], deploys: bool
) -> None:
    jobs = release_jobs()
    assert bool(evaluate(jobs["deploy"]["if"], context)) is deploys
    plan_runs = bool(evaluate(jobs["scan-plan"]["if"], context))
    is_deploy = context["github.event_name"] == "push" or context["inputs.action"] == "deploy"
    assert plan_runs is (is_deploy and context["needs.images.result"] != "failure")


def test_the_scan_covers_every_image_the_release_runs() -> None:
    jobs = release_jobs()
    assert jobs["scan"]["strategy"]["matrix"]["image"] == (
        "${{ fromJSON(needs.scan-plan.outputs.images) }}"
    )
    assert jobs["scan-plan"]["outputs"]["images"] == "${{ steps.list.outputs.images }}"
    listing = next(s for s in jobs["scan-plan"]["steps"] if s.get("id") == "list")
    assert listing["run"] == 'make release-images >>"$GITHUB_OUTPUT"'
    assert jobs["scan"]["steps"][0]["with"]["image-ref"] == "${{ matrix.image }}"


def test_the_step_that_holds_the_production_secrets_installs_nothing() -> None:
    steps = release_jobs()["deploy"]["steps"]
    runs = [step.get("run") for step in steps]
    install, deploy = runs.index("make deploy-venv"), runs.index("make deploy-ci")
    assert install < deploy
    assert not any("secrets." in str(value) for value in steps[install].get("env", {}).values())
    assert any("secrets." in str(value) for value in steps[deploy]["env"].values())
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    rule = re.search(r"^deploy-ci:([^#\n]*)", makefile, re.MULTILINE)
    assert rule is not None
    assert rule.group(1).strip() == "", "make deploy-ci must not install its prerequisites"


def _pins(lock: Path) -> set[str]:
    """`name==version` of each pin, markers aside (a smaller resolution may word them apart)."""
    return {
        line.split(" ")[0]
        for line in lock.read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    }


def test_the_deploy_lock_pins_the_versions_the_tests_ran() -> None:
    requirements = Path(__file__).resolve().parents[2] / "requirements"
    assert _pins(requirements / "deploy.lock") <= _pins(requirements / "dev.lock")
