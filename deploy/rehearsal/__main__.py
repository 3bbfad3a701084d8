"""`python -m deploy.rehearsal`: stand up registry + VM, run every step, write summary and chart."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deploy.rehearsal.chart import draw
from deploy.rehearsal.scenario import Runner
from deploy.rehearsal.swarm_part import PLANNED_OUTAGES


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.rehearsal")
    parser.add_argument("--workdir", type=Path, default=Path("build/rehearsal"))
    parser.add_argument("--chart", type=Path, default=None, help="default: <workdir>/rehearsal.png")
    parser.add_argument("--keep", action="store_true", help="leave the registry and VM running")
    args = parser.parse_args()
    repo = Path.cwd().resolve()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runner = Runner(repo, workdir)
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
