"""`python -m tests.guide.pictures OUT STACK_URL`: the workshop's pictures, taken from a guide
run while its stack and VM still answer (`make guide-pictures` runs it just before step 10's
clean-up).

- page.png: the start page of the guide's stack, in headless Chromium (the browser e2e uses).
- locust-report.png: step 7's Locust report (the newest results folder), in Chromium.
- deploy-under-load.png: the chart step 6's Locust run drew while B was deployed.
- prometheus-release.png: the VM's Prometheus over the last minutes (A, then B, then D rolled
  back): requests/s by the revision that served them, from a query_range.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from linkpulse.build_info import BUILD_INFO
from loadtest.__main__ import RESULTS
from rehearsal import infra

STEP_6_LOAD = Path("build") / "workshop-load.txt"
RELEASES = Path("build") / "rehearsal" / "releases.env"
WINDOW_S = 600
# Requests/s per serving revision: each web's request rate, labelled by its build info.
BY_REVISION = (
    "sum by (revision) (rate(linkpulse_http_requests_total[30s])"
    f" * on (instance) group_left (revision) {BUILD_INFO})"
)


def screenshot(url: str, out: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("pictures: chromium is required: run `make deps`")
    subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={out}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def step_6_results() -> Path:
    """The results folder of step 6's load run, which its output names."""
    found = re.search(r"results in (\S+)", STEP_6_LOAD.read_text())
    if not found:
        raise SystemExit(f"pictures: {STEP_6_LOAD} names no results folder")
    return Path(found.group(1))


def newest_results() -> Path:
    return max((path for path in RESULTS.iterdir() if path.is_dir()), key=lambda p: p.name)


def vm_query_range(query: str, prometheus_port: int) -> list[dict[str, Any]]:
    """QUERY over the last WINDOW_S seconds, from the VM's Prometheus on the VM's loopback."""
    end = time.time()
    params = urllib.parse.urlencode(
        {"query": query, "start": end - WINDOW_S, "end": end, "step": "5"}
    )
    url = f"http://127.0.0.1:{prometheus_port}/api/v1/query_range?{params}"
    answer = subprocess.run(
        ["docker", "exec", infra.VM, "curl", "-sf", url],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    result: list[dict[str, Any]] = json.loads(answer)["data"]["result"]
    return result


def release_names() -> dict[str, str]:
    """Each release's sha to its letter, from step 5's releases.env (RELEASE_A=<sha>)."""
    lines = RELEASES.read_text().splitlines() if RELEASES.exists() else []
    return {
        sha: name.removeprefix("RELEASE_")
        for name, _, sha in (line.partition("=") for line in lines)
    }


def draw_by_revision(series: list[dict[str, Any]], out: Path) -> None:
    names = release_names()
    figure, axes = plt.subplots(figsize=(10, 4))
    start = min((float(t) for one in series for t, _ in one["values"]), default=0.0)
    for one in series:
        revision = str(one["metric"].get("revision", "?"))
        axes.plot(
            [float(t) - start for t, _ in one["values"]],
            [float(v) for _, v in one["values"]],
            label=f"{names.get(revision, 'revision')} {revision[:12]}",
        )
    axes.set(
        title="VM's Prometheus: requests/s by the revision that served them",
        xlabel="seconds",
        ylabel="requests/s",
    )
    axes.legend(loc="upper left")
    figure.savefig(out, dpi=80, bbox_inches="tight")
    plt.close(figure)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.guide.pictures OUT_DIR STACK_URL", file=sys.stderr)
        return 2
    out, stack = Path(argv[0]), argv[1]
    out.mkdir(parents=True, exist_ok=True)
    screenshot(stack + "/", out / "page.png", 800, 520)
    screenshot((newest_results().resolve() / "report.html").as_uri(), out / "locust-report.png",
               1200, 1500)  # fmt: skip
    shutil.copyfile(step_6_results() / "chart.png", out / "deploy-under-load.png")
    draw_by_revision(vm_query_range(BY_REVISION, 9090), out / "prometheus-release.png")
    print(f"pictures: {', '.join(sorted(p.name for p in out.glob('*.png')))} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
