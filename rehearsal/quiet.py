"""The quiet steps: deploys with the load loop not yet running, judged on probe evidence alone.

Every first deploy meets a VM that nobody visits yet; without probes its SLO check waited for
max_wait and failed as undecided. A deploy's own output says what the check decided and how many
probes it sent; these read it back for the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERDICT = re.compile(r"SLO check (?:passed|failed|undecided)[^\n]*")
_PROBES = re.compile(r"^\s*probes: (\d+) sent \(\d+ failed\) in (\d+)s", re.MULTILINE)
_DONE = re.compile(r"deploy of [0-9a-f]{12} done in (?:(\d+)m)?([\d.]+)s")


@dataclass(frozen=True)
class QuietDeploy:
    seconds: float  # the whole step (the first deploy's: provision and release too)
    deploy_seconds: float | None  # the deploy command, when it succeeded
    check_seconds: int  # the SLO check, from its first reading to its verdict
    probe_requests: int
    users_requests: int  # the load loop's requests during the step: none
    verdict: str

    @property
    def judged_on_probes(self) -> bool:
        return "on probe requests" in self.verdict


def read(output: str, seconds: float, users_requests: int) -> QuietDeploy:
    """The figures of one deploy's OUTPUT: its check's verdict (the first line naming one: later
    ones repeat it) and the probes it sent."""
    verdicts = _VERDICT.findall(output)
    probes = _PROBES.findall(output)
    done = _DONE.search(output)
    return QuietDeploy(
        seconds=seconds,
        deploy_seconds=60 * int(done[1] or 0) + float(done[2]) if done else None,
        check_seconds=int(probes[-1][1]) if probes else 0,
        probe_requests=int(probes[-1][0]) if probes else 0,
        users_requests=users_requests,
        verdict=verdicts[0] if verdicts else "",
    )
