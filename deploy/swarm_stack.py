"""The Swarm stack on a manager node, driven over SSH with the Docker CLI.

Swarm performs each service's rolling update itself (docker-compose.swarm.yml: start-first,
rollback as the failure action); this module starts it with `docker stack deploy` and watches
every service until Swarm has finished: converged on the new spec, or rolled it back. Service
and task state come from `docker service inspect` / `docker inspect`, parsed by pure functions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from deploy.errors import DeployError, PrometheusUnavailableError
from deploy.gate import Query, first_value
from deploy.host import Host

NAMESPACE_LABEL = "com.docker.stack.namespace"
SERVICE_NAME_LABEL = "com.docker.swarm.service.name"
# Swarm is still replacing tasks (or undoing that) while an update is in one of these states.
WORKING = frozenset({"updating", "rollback_started"})
# Swarm gave the new spec up: the update failed and was rolled back (or paused by policy).
GAVE_UP = frozenset({"rollback_completed", "rollback_paused", "paused"})


def without_digest(image: str) -> str:
    """127.0.0.1:5000/linkpulse/app:<sha>@sha256:... -> 127.0.0.1:5000/linkpulse/app:<sha>."""
    return image.split("@", 1)[0]


def image_tag(image: str) -> str:
    last = without_digest(image).rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[-1] if ":" in last else ""


@dataclass(frozen=True)
class ServiceState:
    name: str  # the stack's own name for it: web, worker, ...
    id: str
    image: str
    replicas: int | None  # None: a global service, one task per node
    task_template: str  # canonical JSON: a change means Swarm replaces the tasks
    update_state: str  # "" when Swarm never updated the service
    update_started: str
    update_message: str


@dataclass(frozen=True)
class TaskState:
    service_id: str
    image: str
    state: str  # new | pending | preparing | starting | running | failed | shutdown | ...
    desired: str  # running | shutdown | ...
    error: str


def parse_services(text: str, stack: str) -> dict[str, ServiceState]:
    """`docker service inspect` JSON -> the stack's services by their short name."""
    services = {}
    for raw in json.loads(text or "[]"):
        spec: dict[str, Any] = raw.get("Spec") or {}
        full = str(spec.get("Name", ""))
        mode: dict[str, Any] = spec.get("Mode") or {}
        replicated = mode.get("Replicated")
        status: dict[str, Any] = raw.get("UpdateStatus") or {}
        template: dict[str, Any] = spec.get("TaskTemplate") or {}
        container: dict[str, Any] = template.get("ContainerSpec") or {}
        name = full.removeprefix(f"{stack}_")
        services[name] = ServiceState(
            name=name,
            id=str(raw.get("ID", "")),
            image=str(container.get("Image", "")),
            replicas=None if replicated is None else int(replicated.get("Replicas", 0)),
            task_template=json.dumps(template, sort_keys=True),
            update_state=str(status.get("State", "")),
            update_started=str(status.get("StartedAt", "")),
            update_message=str(status.get("Message", "")),
        )
    return services


def parse_tasks(text: str) -> list[TaskState]:
    """`docker inspect --type task` JSON -> their state."""
    tasks = []
    for raw in json.loads(text or "[]"):
        status: dict[str, Any] = raw.get("Status") or {}
        spec: dict[str, Any] = raw.get("Spec") or {}
        tasks.append(
            TaskState(
                service_id=str(raw.get("ServiceID", "")),
                image=str((spec.get("ContainerSpec") or {}).get("Image", "")),
                state=str(status.get("State", "")),
                desired=str(raw.get("DesiredState", "")),
                error=str(status.get("Err", "")),
            )
        )
    return tasks


def converged(service: ServiceState, tasks: list[TaskState]) -> bool:
    """Every task Swarm wants running runs the service's current image, as many as it wants."""
    wanted = [t for t in tasks if t.desired == "running"]
    enough = bool(wanted) if service.replicas is None else len(wanted) == service.replicas
    return enough and all(
        t.state == "running" and without_digest(t.image) == without_digest(service.image)
        for t in wanted
    )


def settle(
    before: ServiceState | None,
    deployed: ServiceState,
    now: ServiceState,
    tasks: list[TaskState],
) -> str | None:
    """None while Swarm still works on a service; "" once it serves its spec; else why Swarm
    gave the new spec up.

    BEFORE is the service before the stack deploy, DEPLOYED right after it (the spec it asked
    for), NOW as it is. A rollback puts the old spec back, so whether this deploy replaces the
    tasks is read from DEPLOYED; and an update status left from an earlier deploy (its rollback,
    say) is not this deploy's outcome until Swarm has started a new update.
    """
    if before is not None and before.task_template != deployed.task_template:
        if now.update_started == before.update_started or now.update_state in WORKING:
            return None
        if now.update_state in GAVE_UP:
            return now.update_message or now.update_state
    return "" if converged(now, tasks) else None


QUERY_TIMEOUT_S = 20
TIMED_OUT = 124  # timeout(1)'s status when it stopped the command


class SwarmStack:
    def __init__(self, remote: Host, name: str) -> None:
        self.remote = remote
        self.name = name

    def docker(self, *args: str, check: bool = True) -> str:
        return self.remote.run(["docker", *args], check=check).stdout

    # --- the node ----------------------------------------------------------------------------
    def node_role(self) -> tuple[str, bool]:
        """(swarm state, is a manager) of the host."""
        out = self.docker(
            "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"
        )
        state, _, manager = out.strip().partition(" ")
        return state, manager == "true"

    def missing_secrets(self, names: list[str]) -> list[str]:
        have = set(self.docker("secret", "ls", "--format", "{{.Name}}").split())
        return [name for name in names if name not in have]

    # --- services and tasks ------------------------------------------------------------------
    def services(self) -> dict[str, ServiceState]:
        ids = self.docker(
            "service", "ls", "--quiet", "--filter", f"label={NAMESPACE_LABEL}={self.name}"
        ).split()
        if not ids:
            return {}
        return parse_services(self.docker("service", "inspect", *ids), self.name)

    def tasks(self) -> list[TaskState]:
        ids = self.docker(
            "stack", "ps", "--quiet", "--no-trunc", "--filter", "desired-state=running", self.name,
            check=False,
        ).split()  # fmt: skip
        if not ids:
            return []
        return parse_tasks(self.docker("inspect", "--type", "task", *ids))

    def task_errors(self, service: str, image: str) -> list[str]:
        """Why the tasks of SERVICE that ran IMAGE ended, newest first."""
        lines = self.docker(
            "service", "ps", "--no-trunc", "--format", "{{.Image}}\t{{.Error}}",
            f"{self.name}_{service}",
            check=False,
        ).splitlines()  # fmt: skip
        wanted = without_digest(image)
        errors = []
        for line in lines:
            task_image, _, error = line.partition("\t")
            if without_digest(task_image) == wanted and error.strip():
                errors.append(error.strip().strip('"'))
        return errors

    def diagnostics(self, service: str) -> str:
        """Task history and recent logs of one service, for a failure bundle."""
        full = f"{self.name}_{service}"
        tasks = self.docker("service", "ps", "--no-trunc", full, check=False)
        # `docker service logs` can wait for ever on a task that is gone: bounded on the VM.
        logs = self.remote.run(
            ["timeout", "20", "docker", "service", "logs", "--no-trunc", "--timestamps",
             "--tail", "200", full],
            check=False,
        )  # fmt: skip
        return f"$ docker service ps {full}\n{tasks}\n$ docker service logs {full}\n" + (
            logs.stdout + logs.stderr
        )

    # --- deploy ------------------------------------------------------------------------------
    def deploy(self, stack_file: str) -> None:
        """Hand the stack to Swarm; services it no longer names are removed (--prune)."""
        self.docker(
            "stack", "deploy", "--with-registry-auth", "--prune", "--detach=true",
            "--compose-file", stack_file, self.name,
        )  # fmt: skip

    def wait(
        self,
        before: Mapping[str, ServiceState],
        timeout_s: float,
        on_settled: Callable[[str, ServiceState, str], None] | None = None,
    ) -> dict[str, str]:
        """Until Swarm has settled every service: "" for each that serves its new spec, the reason
        for each whose update Swarm rolled back. Raises when one has not settled in time."""
        deadline = time.monotonic() + timeout_s
        outcome: dict[str, str] = {}
        deployed = self.services()
        while True:
            services = self.services()
            tasks = self.tasks()
            for name, now in sorted(services.items()):
                if name in outcome:
                    continue
                mine = [t for t in tasks if t.service_id == now.id]
                result = settle(before.get(name), deployed.get(name, now), now, mine)
                if result is not None:
                    outcome[name] = result
                    if on_settled is not None:
                        on_settled(name, deployed.get(name, now), result)
            pending = sorted(set(services) - set(outcome))
            if not pending:
                return outcome
            if time.monotonic() > deadline:
                raise DeployError(
                    f"Swarm did not settle {', '.join(pending)} within {timeout_s:.0f}s"
                )
            time.sleep(2.0)

    # --- Prometheus --------------------------------------------------------------------------
    def _prometheus_task(self, service: str = "prometheus") -> str:
        ids = self.docker(
            "ps", "--quiet", "--filter", f"label={SERVICE_NAME_LABEL}={self.name}_{service}"
        ).split()
        if not ids:
            raise PrometheusUnavailableError(
                f"no {service} task runs on {self.remote.label}: the SLO check reads Prometheus "
                "on the manager (it is placed on the node labelled linkpulse.state=true)"
            )
        return ids[0]

    def _vector(self, task: str, expr: str) -> list[dict[str, Any]]:
        # promtool has no timeout of its own: a Prometheus that hangs must not hang the deploy.
        result = self.remote.run(
            ["timeout", str(QUERY_TIMEOUT_S), "docker", "exec", task, "promtool", "query",
             "instant", "-o", "json", "http://127.0.0.1:9090", expr],
            check=False,
        )  # fmt: skip
        if not result.ok:
            said = (result.stderr.strip() or result.stdout.strip())[-200:]
            if "bad_data" in said:
                raise DeployError(f"Prometheus refused a query: {said}")
            if result.exit_code == TIMED_OUT:
                said = f"no answer within {QUERY_TIMEOUT_S}s"
            # An empty answer with a failed status is an exec whose container went away.
            raise PrometheusUnavailableError(
                f"promtool in the Prometheus task exited {result.exit_code}: "
                + (said or "no output (the task was stopped or replaced)")
            )
        try:
            vector: list[dict[str, Any]] = json.loads(result.stdout or "[]")
        except ValueError as error:
            raise DeployError(f"Prometheus answered something unexpected: {error}") from error
        return vector

    def vector(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's samples, as Prometheus's HTTP API lists them."""
        return self._vector(self._prometheus_task(), expr)

    @contextmanager
    def prometheus(self) -> Iterator[Query]:
        """Queries through promtool inside the Prometheus task on this node: on Swarm Prometheus
        publishes no port (host-mode ports bind every address), so nothing else reaches it. The
        task is looked up again after a failed query, since Swarm may have replaced it."""
        task: str | None = None

        def query(expr: str) -> float:
            nonlocal task
            if task is None:
                task = self._prometheus_task()
            try:
                return first_value(self._vector(task, expr))
            except PrometheusUnavailableError:
                task = None
                raise

        yield query
