"""The rehearsal's second part (issue 11): the same VM moves from compose to a Swarm stack, and
`deploy --target swarm` ships, refuses and rolls back releases there under the same load.

The move keeps the data: the stack's Redis volume is the compose project's (both are named
linkpulse_redis-data), so every link and every pending click event crosses over, and the final
clicks = redirects check covers both parts. The move itself is a planned outage (one stack
stops before the other starts); every deploy step after it must fail no request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rehearsal import infra, profile

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

STOP = "stop the compose stack"
INIT = "6 init-swarm"
MOVE = "6 move to swarm (deploy A)"
PLANNED_OUTAGES = frozenset({STOP, INIT, f"after {INIT}", MOVE})
SWARM = ("--target", "swarm")
REDIS_TASK = (
    "docker ps --filter label=com.docker.swarm.service.name=linkpulse_redis "
    "--format '{{.ID}} {{.Label \"com.docker.swarm.task.id\"}}'"
)


class SwarmPart:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.summary = runner.summary
        self.versions = runner.summary.versions
        self.src = ["--source", str(runner.src)]

    def run(self) -> None:
        r, v = self.runner, self.versions
        refused = r.tool(*SWARM, "deploy", v["A"], *self.src)
        lines = refused.stderr.strip().splitlines()
        self.summary.check(
            "6: --target swarm on a VM that is no swarm manager: one clear line, exit 1",
            refused.returncode == 1 and len(lines) == 1 and "init-swarm" in lines[0],
        )
        self._stop_compose_stack()
        init = r.step(INIT, *SWARM, "init-swarm")
        self.summary.check("6: init-swarm succeeds", init.exit_code == 0)
        again = r.tool(*SWARM, "init-swarm")
        self.summary.check(
            "6: init-swarm again changes nothing (secrets kept)",
            again.returncode == 0 and "created" not in again.stdout,
        )
        a = r.step(MOVE, *SWARM, "deploy", v["A"], *self.src)
        self.summary.check("6: A deploys to Swarm and passes its checks", a.exit_code == 0)
        self.summary.check("6: the stack reports A's version", r._reports(v["A"], "swarm"))
        redis_before = self._redis_task()

        b = r.step("7 swarm deploy B", *SWARM, "deploy", v["B"], *self.src)
        self.summary.check(
            "7: B rolls out on Swarm with zero failed requests",
            b.exit_code == 0 and b.failed_requests == 0,
        )
        self.summary.check("7: traffic ends on B", r._reports(v["B"], "swarm"))

        if profile.full():
            self._failing_releases()
        back = r.step("9 swarm rollback (to A)", *SWARM, "rollback")
        self.summary.check(
            "9: rollback on Swarm succeeds with zero failed requests",
            back.exit_code == 0 and back.failed_requests == 0,
        )
        self.summary.check("9: A serves after the rollback", r._reports(v["A"], "swarm"))
        self.summary.check(
            "Swarm never restarted Redis after the move", self._redis_task() == redis_before
        )
        # Every Prometheus task Swarm started: more than one means it was replaced mid-run.
        prometheus = infra.docker(
            "exec", infra.VM, "docker", "service", "ps", "--no-trunc",
            "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", "linkpulse_prometheus",
            check=False,
        ).splitlines()  # fmt: skip
        self.summary.notes["swarm prometheus tasks"] = prometheus
        if len(prometheus) > 1:
            print("rehearsal: Swarm replaced Prometheus:\n  " + "\n  ".join(prometheus))
        history = r.tool(*SWARM, "history")
        r.log.write(history.stdout)
        self.summary.notes["swarm history"] = history.stdout.splitlines()

    def _failing_releases(self) -> None:
        r, v = self.runner, self.versions
        c = r.step("8 swarm deploy C (fails health check)", *SWARM, "deploy", v["C"], *self.src)
        self.summary.check(
            "8: Swarm rolls C back by itself, zero failed requests",
            c.exit_code != 0 and "health check" in c.last_line and c.failed_requests == 0,
        )
        self.summary.check("8: B still serves after C", r._reports(v["B"], "swarm"))
        d = r.step("8 swarm deploy D (fails SLO check)", *SWARM, "deploy", v["D"], *self.src)
        self.summary.check(
            "8: D is rolled back by the SLO check, zero failed requests",
            d.exit_code != 0 and "SLO check failed" in d.last_line and d.failed_requests == 0,
        )
        self.summary.check("8: B still serves after D", r._reports(v["B"], "swarm"))

    def _stop_compose_stack(self) -> None:
        """What an operator does before the move: compose's containers stop (Redis writes its
        AOF on SIGTERM) and its networks go, so the stack can create its overlays by name."""
        self.runner.load.set_phase(STOP)
        script = (
            "set -e\n"
            "ids=$(docker ps -aq --filter label=com.docker.compose.project=linkpulse)\n"
            '[ -z "$ids" ] || docker stop --time 30 $ids >/dev/null\n'
            '[ -z "$ids" ] || docker rm $ids >/dev/null\n'
            "nets=$(docker network ls -q --filter label=com.docker.compose.project=linkpulse)\n"
            '[ -z "$nets" ] || docker network rm $nets >/dev/null\n'
        )
        infra.on_vm(script)

    def _redis_task(self) -> str:
        return infra.on_vm(REDIS_TASK).strip()
