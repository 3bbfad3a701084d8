"""`python -m rehearsal [run|up|down]`: stand up registry + VM and run every step, writing
the summary and chart (run); or only stand them up, provisioned, with every release pushed, for
deploys by hand (up), and remove them (down)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rehearsal.chart import draw
from rehearsal.infra import Rehearsal
from rehearsal.scenario import PUBLIC_URL, Runner
from rehearsal.swarm_part import PLANNED_OUTAGES


def up(runner: Runner) -> int:
    """Registry and VM up, the releases pushed, the VM provisioned; prints how to deploy by hand."""
    try:
        runner.prepare()
        provision = runner.tool("provision", "--source", str(runner.repo))
        if provision.returncode != 0:
            raise RuntimeError(f"provision failed: {provision.stderr.strip()[-300:]}")
    except Exception as error:
        print(f"rehearse-up: {type(error).__name__}: {error}", file=sys.stderr)
        runner.rehearsal.teardown()
        return 1
    config = runner.rehearsal.config_file
    print(f"deploy config: {config}")
    print(f"public URL: {PUBLIC_URL}")
    print(f"source checkout: {runner.src} (sources.checkout switches it between releases)")
    print(
        f"deploy by hand: DOCKER_CONFIG={runner.rehearsal.docker_config} "
        f"python -m deploy --config {config} deploy <sha> --source {runner.src}"
    )
    releases = sorted(runner.summary.versions.items())
    # The same lines for a shell: `. build/rehearsal/releases.env` gives $RELEASE_A ...
    (runner.workdir / "releases.env").write_text(
        "".join(f"RELEASE_{letter}={sha}\n" for letter, sha in releases)
    )
    for letter, sha in releases:
        print(f"release {letter} {sha}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal")
    parser.add_argument("action", nargs="?", choices=("run", "up", "down"), default="run")
    parser.add_argument("--workdir", type=Path, default=Path("build/rehearsal"))
    parser.add_argument("--chart", type=Path, default=None, help="default: <workdir>/rehearsal.png")
    parser.add_argument("--keep", action="store_true", help="leave the registry and VM running")
    args = parser.parse_args()
    repo = Path.cwd().resolve()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if args.action == "down":
        Rehearsal(workdir).teardown()
        print("rehearse-down: the rehearsal's registry, VM, volume and network are gone")
        return 0
    runner = Runner(repo, workdir)
    if args.action == "up":
        return up(runner)
    started = time.monotonic()
    try:
        runner.prepare()
        runner.run()
    except Exception as error:  # the summary says what failed, and the teardown still runs
        runner.summary.check(
            f"the rehearsal ran to its end ({type(error).__name__}: {error})", False
        )
    finally:
        runner.load.stop()
        runner.summary.notes["total s"] = round(time.monotonic() - started, 1)
        runner.summary.write(workdir / "summary.json")
        chart = args.chart or workdir / "rehearsal.png"
        draw(list(runner.load.samples), runner.summary.steps, chart, PLANNED_OUTAGES)
        print(
            f"rehearsal: summary {workdir / 'summary.json'}, chart {chart}, "
            f"log {workdir / 'rehearsal.log'}"
        )
        if not args.keep:
            runner.rehearsal.teardown()
    print("rehearsal: " + ("PASSED" if runner.summary.passed else "FAILED"), flush=True)
    return 0 if runner.summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
