"""The canary releases under the load loop (issue 18): B promoted through every step, D (300 ms
slower), F (40 ms slower, inside the SLO) and G (2 % errors) aborted at the first step. Each
gets an entry in the summary's `canary` list, with the judge's tables as the VM's history keeps
them, and what the load loop itself saw during the deploy."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from deploy.canary_judge import INFORMATION
from deploy.config import DeploySettings
from rehearsal.drills import vm_history
from rehearsal.load import Sample
from slo.judgement import Row, verdict

if TYPE_CHECKING:
    from rehearsal.scenario import Runner, Step

SLO_LATENCY_S = 0.1  # slo/objectives.toml's redirect latency threshold
D_DELAY_S = 0.3  # release D's added delay: every redirect D served took at least this
F_STEP = "3 deploy F (canary: 40 ms slower, inside the SLO)"
G_STEP = "3 deploy G (canary: 2 % of redirects answer 500)"
BLAST_RADIUS_GOAL = 0.15
# The canaries beyond B and D this run deploys: `make test` leaves G out to stay in its time
# budget (REHEARSAL_CANARIES=F); the tier's own target runs them all.
EXTRA = os.environ.get("REHEARSAL_CANARIES", "FG")
FIRST_STEP = DeploySettings().steps[0]  # the rehearsal deploys with the default steps


def deliberate(sample: Sample) -> bool:
    """G's own 500s: what its canary step is there to catch, not a failure of the deploy."""
    return sample.phase == G_STEP and sample.detail == "500"


def _verdict(rows: list[dict[str, Any]], subject: str) -> str:
    """What SUBJECT's rows alone would have decided (information-only rows aside)."""
    return verdict(
        [Row(**row) for row in rows if row["subject"] == subject and row["verdict"] != INFORMATION]
    )


def record(runner: Runner, letter: str, step: Step) -> dict[str, Any]:
    """The summary's entry for the canary deploy STEP just ran (release LETTER)."""
    history = vm_history()[-1]
    steps: list[dict[str, Any]] = history.get("canary", [])
    redirects = [s for s in runner.load.samples if s.phase == step.name and s.kind == "redirect"]
    promoted = step.exit_code == 0
    last = steps[-1] if steps else {"weight": None, "rows": []}
    entry = {
        "release": letter,
        "target": "vm",
        "outcome": "promoted" if promoted else "aborted",
        "decided_at_weight": 100 if promoted else last["weight"],
        "requests_total": step.requests,
        # As the judge counted them in its steps' windows (Prometheus, by revision).
        "requests_to_new": sum(int(s["canary_requests"]) for s in steps),
        "slow_requests": sum(1 for s in redirects if s.latency_s > SLO_LATENCY_S),
        "failed_requests": step.failed_requests,
        "lost_clicks": None,  # filled in once the clicks are counted, at the end
        "duration_s": step.duration_s,
        "steps": [
            {k: s[k] for k in ("weight", "verdict", "duration_s", "window_s")}
            | {
                "baseline_requests": s["baseline_requests"],
                "canary_requests": s["canary_requests"],
                # The share of the step's redirects the canary answered, as web counted them.
                "share": round(
                    s["canary_requests"] / max(1, s["canary_requests"] + s["baseline_requests"]), 3
                ),
            }
            for s in steps
        ],
        "slo_verdict": _verdict(last["rows"], "slo"),
        "vs_baseline_verdict": _verdict(last["rows"], "vs baseline"),
        "table": [s["rows"] for s in steps],
        "last_line": step.last_line,
    }
    if letter == "D":
        # Every redirect D answered took 300 ms or more: the load loop's count of those is an
        # upper bound of D's share, measured from the client's side, not by the judge.
        served_by_d = sum(1 for s in redirects if s.latency_s >= D_DELAY_S)
        entry["blast_radius"] = round(served_by_d / max(1, step.requests), 4)
    runner.summary.canary.append(entry)
    return entry


def run(runner: Runner) -> None:
    """F and G (those in EXTRA), each a canary deploy on top of B; after each B alone serves."""
    v = runner.summary.versions
    src = ["--source", str(runner.src)]
    for letter, name in (("F", F_STEP), ("G", G_STEP)):
        if letter not in EXTRA:
            continue
        step = runner.step(name, "deploy", v[letter], *src)
        entry = record(runner, letter, step)
        runner.summary.check(
            f"canary: {letter} is aborted at the first step",
            step.exit_code != 0 and entry["decided_at_weight"] == FIRST_STEP,
        )
        runner.summary.check(f"canary: B still serves after {letter}", runner._reports(v["B"]))
    entries = {entry["release"]: entry for entry in runner.summary.canary}
    if "F" in entries:
        f = entries["F"]
        runner.summary.check(
            "canary: F is caught by the baseline comparison while the SLO alone passes it",
            f["vs_baseline_verdict"] == "FAIL" and f["slo_verdict"] == "PASS",
        )
        runner.summary.check("canary: F's abort failed no request", f["failed_requests"] == 0)
    if "G" in entries:
        g = entries["G"]
        runner.summary.check("canary: G fails the SLO's error ratio", g["slo_verdict"] == "FAIL")


def check_b_and_d(runner: Runner, b: dict[str, Any], d: dict[str, Any]) -> None:
    runner.summary.check(
        "canary: B is promoted through every step (10 %, 50 % PASS, then 100 %)",
        b["outcome"] == "promoted"
        and [(s["weight"], s["verdict"]) for s in b["steps"]] == [(10, "PASS"), (50, "PASS")],
    )
    runner.summary.check(
        "canary: B's share of requests at each step is its weight within 5 points (nginx weights)",
        all(abs(s["share"] * 100 - s["weight"]) <= 5 for s in b["steps"]),
    )
    runner.summary.check(
        "canary: D is aborted at the first step with no failed request",
        d["outcome"] == "aborted"
        and d["decided_at_weight"] == FIRST_STEP
        and d["failed_requests"] == 0,
    )
    runner.summary.check(
        f"canary: D served at most {BLAST_RADIUS_GOAL:.0%} of the requests during its release",
        d.get("blast_radius", 1.0) <= BLAST_RADIUS_GOAL,
    )


def set_lost_clicks(runner: Runner, served: dict[str, int], counted: dict[str, int]) -> None:
    """Served redirects with no click counted, across the run: the clicks are counted once, at
    the end (the worker switches only after a canary's last step), so each entry gets the run's."""
    lost = sum(max(0, n - counted.get(code, 0)) for code, n in served.items())
    for entry in runner.summary.canary:
        entry["lost_clicks"] = lost
