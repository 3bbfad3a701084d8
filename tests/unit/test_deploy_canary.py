"""A canary deploy's steps on the scripted fake host (tests/support/fake_host.py), with the
judge's figures scripted per step: the nginx weights each step sets, promotion through every
step, and an abort that leaves the old web alone serving, recorded with the step's table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from deploy import canary as canary_module
from deploy.canary import Measure, StepProbes
from deploy.canary_judge import Side
from deploy.config import DeploySettings, parse_config
from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.nginx_weights import render_split, weights
from deploy.vm_target import VmTarget
from tests.unit.test_deploy_failures import CONFIG, ROOT, A, B, Vm

UPSTREAM = f"{ROOT}/nginx/upstream.d/web.conf"
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, float("inf"))


def side(requests: int, *, at_ms: float = 3.0, errors: int = 0) -> Side:
    """REQUESTS redirects, all answered within the first bound at or above AT_MS."""
    cumulative = [(b, float(requests) if b * 1000 >= at_ms else 0.0) for b in BOUNDS]
    return Side(float(requests), float(errors), cumulative)


Script = Callable[[int], tuple[Side, Side]]


class CanaryVm(Vm):
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.config = replace(self.config, deploy=DeploySettings(step_max_wait="1m"))
        self.script: Script = lambda window_s: (side(400), side(120))
        # What the probes' own families read; None: no probe link could be made.
        self.probe_script: Script | None = None
        self.probe_rates: list[float] = []
        self.upstreams: list[str] = []
        self.now = 0.0
        # Each poll of a step is 5 s on this clock, so a step's wait ends without waiting.
        monkeypatch.setattr(canary_module.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(canary_module.time, "sleep", self._sleep)
        write = self.host.write_file

        def keep_upstream(path: str, content: str, mode: int = 0o644) -> None:
            write(path, content, mode)
            if path == UPSTREAM:
                self.upstreams.append(content)

        self.host.write_file = keep_upstream  # type: ignore[method-assign]

    def _sleep(self, seconds: float) -> None:
        self.now += seconds

    def deployer(self) -> Deployer:
        deployer = super().deployer()

        @contextmanager
        def measure(baseline: str, sha: str) -> Iterator[Measure]:
            assert (baseline, sha) == (A, B), "baseline is the release serving, canary the new"
            yield self.script

        @contextmanager
        def probes(baseline: str, sha: str) -> Iterator[StepProbes | None]:
            script = self.probe_script
            yield None if script is None else StepProbes(script, self.probe_rates.append)

        assert isinstance(deployer.target, VmTarget)
        deployer.target.canary_measure = measure  # type: ignore[method-assign]
        deployer.target.canary_probes = probes  # type: ignore[method-assign]
        return deployer


@pytest.fixture
def vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CanaryVm:
    vm = CanaryVm(tmp_path, monkeypatch)
    vm.deploy(A)  # a first deploy: nothing to judge a canary against, all at once
    vm.upstreams.clear()
    return vm


def _weights(upstream: str) -> list[int]:
    return sorted(int(w) for w in re.findall(r"weight=(\d+);", upstream))


def test_weights_give_the_canary_its_share() -> None:
    assert weights(10, 1, 1) == (9, 1)
    assert weights(50, 1, 1) == (1, 1)
    assert weights(25, 2, 1) == (3, 2)  # 2 old at 3 each: 6 of 8 requests, the new 1 at 2: 25 %
    line = render_split(["linkpulse-web-1"], ["linkpulse-web-2"], 10)
    assert "server linkpulse-web-1:8000 max_fails=3 fail_timeout=10s weight=9;" in line
    assert "server linkpulse-web-2:8000 max_fails=3 fail_timeout=10s weight=1;" in line
    assert "weight" not in render_split(["linkpulse-web-1"], ["linkpulse-web-2"], 100)


def test_a_healthy_canary_is_promoted_through_every_step_without_the_slo_check(
    vm: CanaryVm,
) -> None:
    vm.slo_fails.add(B)  # the all-at-once SLO check would fail it: it must not run
    vm.deploy(B)
    assert [_weights(u) for u in vm.upstreams] == [[1, 9], [1, 1], []]
    assert vm.serving("web") == {B}
    assert vm.serving("worker") == {B}
    assert vm.current == B
    record = vm.last_record
    assert record["outcome"] == "ok"
    steps = record["canary"]
    assert isinstance(steps, list)
    assert [(s["weight"], s["verdict"]) for s in steps] == [(10, "PASS"), (50, "PASS")]
    assert any("canary step: 50 %" in line for line in vm.output)


def test_a_canary_slower_than_its_baseline_but_inside_the_slo_is_aborted_at_the_first_step(
    vm: CanaryVm,
) -> None:
    vm.script = lambda window_s: (side(400, at_ms=3), side(120, at_ms=45))
    message = vm.failing_deploy(B)
    assert "canary FAIL at 10 %" in message
    assert "vs baseline p50_ms" in message
    assert vm.serving("web") == {A}, "every request back on the old web, the canary removed"
    assert vm.serving("worker") == {A}, "the worker switches only after the last step"
    assert _weights(vm.upstreams[-1]) == []
    assert "linkpulse-web" in vm.upstreams[-1]
    record = vm.last_record
    assert record["outcome"] == "rolled-back"
    (step,) = record["canary"]  # type: ignore[misc]
    verdicts = {(r["subject"], r["metric"]): r["verdict"] for r in step["rows"]}
    assert verdicts[("slo", "p99_ms")] == "PASS", "the SLO alone would have passed it"
    assert verdicts[("vs baseline", "p50_ms")] == "FAIL"
    bundle = {p.rsplit("/", 1)[1]: t for p, t in vm.host.files.items() if "/bundles/" in p}
    assert "vs baseline  p50_ms" in bundle["canary.txt"]
    assert json.loads(bundle["canary.json"])[0]["verdict"] == "FAIL"


def test_a_step_without_enough_requests_by_its_deadline_is_inconclusive_and_aborts(
    vm: CanaryVm,
) -> None:
    vm.script = lambda window_s: (side(400), side(3))
    message = vm.failing_deploy(B)
    assert "canary INCONCLUSIVE at 10 %: canary requests" in message
    assert vm.serving("web") == {A}
    assert vm.now >= 60, "it waited for evidence until the step's deadline"


def test_the_all_at_once_strategy_switches_then_runs_the_slo_check(vm: CanaryVm) -> None:
    vm.config = replace(vm.config, deploy=DeploySettings(strategy="all-at-once"))
    vm.slo_fails.add(B)
    assert "SLO check failed" in vm.failing_deploy(B)
    assert vm.upstreams
    assert all(_weights(u) == [] for u in vm.upstreams)
    assert vm.last_record["canary"] == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('strategy = "blue-green"', "strategy must be one of canary, all-at-once"),
        ("steps = [10, 50]", "steps must rise from 1 to 100"),
        ("steps = [50, 10, 100]", "steps must rise from 1 to 100"),
        ("min_requests = 0", "min_requests must be at least 1"),
        ('step_max_wait = "soon"', "[deploy]"),
        ('on_inconclusive = "wait"', "on_inconclusive must be one of abort, pause"),
    ],
)
def test_a_bad_deploy_table_is_one_clear_error(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(DeployError, match=re.escape(message)):
        parse_config(f"{CONFIG}\n{table}\n".replace('strategy = "all-at-once"\n', ""), tmp_path)


QUIET = (side(0), side(0))


def test_a_canary_on_a_quiet_service_is_promoted_on_probe_requests(vm: CanaryVm) -> None:
    vm.script = lambda window_s: QUIET
    vm.probe_script = lambda window_s: (side(400), side(120))
    vm.deploy(B)
    assert vm.serving("web") == {B}
    steps = vm.last_record["canary"]
    assert isinstance(steps, list)
    assert [(s["weight"], s["verdict"], s["evidence"]) for s in steps] == [
        (10, "PASS", "probes"),
        (50, "PASS", "probes"),
    ]
    assert steps[0]["probe_requests"] == [400, 120]
    assert steps[0]["canary_requests"] == 0, "users' counts stay the users'"
    assert vm.probe_rates[0] > 0, "probes start with the step, before its first judged window"
    assert vm.probe_rates[-1] == 0, "a decided step stops them"
    assert any("PASS on probe requests" in line for line in vm.output)


def test_a_slow_canary_on_a_quiet_service_is_aborted_on_probe_requests(vm: CanaryVm) -> None:
    vm.script = lambda window_s: QUIET
    vm.probe_script = lambda window_s: (side(400, at_ms=3), side(120, at_ms=45))
    message = vm.failing_deploy(B)
    assert "canary FAIL at 10 % on probe requests" in message
    assert "vs baseline p50_ms" in message
    assert vm.serving("web") == {A}
    assert vm.last_record["canary"][0]["evidence"] == "probes"  # type: ignore[index]


def test_a_busy_service_is_judged_by_its_users_and_sends_no_probes(vm: CanaryVm) -> None:
    def never(window_s: int) -> tuple[Side, Side]:
        raise AssertionError("users decided: the probes' figures are not read")

    vm.script = lambda window_s: (side(1800), side(200))  # 100 redirects a second over 20 s
    vm.probe_script = never
    vm.deploy(B)
    assert set(vm.probe_rates) == {0.0}
    steps = vm.last_record["canary"]
    assert isinstance(steps, list)
    assert {s["evidence"] for s in steps} == {"users"}


def test_users_failing_decide_even_while_probes_would_pass(vm: CanaryVm) -> None:
    vm.script = lambda window_s: (side(30), side(120, errors=60))  # baseline short, canary 5xx
    vm.probe_script = lambda window_s: (side(400), side(120))
    message = vm.failing_deploy(B)
    assert "canary FAIL at 10 %: baseline requests, slo error_ratio" in message


def test_too_few_probes_by_the_deadline_are_inconclusive_and_name_both_counts(
    vm: CanaryVm,
) -> None:
    vm.script = lambda window_s: QUIET
    vm.probe_script = lambda window_s: (side(400), side(20))
    message = vm.failing_deploy(B)
    assert "canary INCONCLUSIVE at 10 %: baseline requests, canary requests" in message
    assert "(probes: baseline 400, canary 20)" in message
