"""Zero-downtime switches on one VM.

web: a new container starts beside the old one (compose `--scale N+1 --no-recreate`), and only
once it is healthy does nginx's rendered upstream list it instead of the old one; a graceful
`nginx -s reload` lets the old workers finish their requests while new workers use the new
list; when the old workers are gone, the old web gets SIGTERM (gunicorn finishes in-flight
requests) and is removed. worker: the new consumer joins the group, then the old one gets
SIGTERM and finishes its batch (its unacknowledged events stay pending and are reclaimed).
Redis is started once and never recreated.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.plan import DATA_SERVICES, EDGE_SERVICE, ServiceImage, render_upstream
from deploy.ssh import command_line
from deploy.stages import Stages, format_duration
from deploy.vm import Container, HealthCheckError, Vm
from deploy.worker_handover import take_over_argv

SHUTTING_DOWN = "worker process is shutting down"


def same_base(running: list[str] | None, new: list[str] | None) -> bool:
    """nginx's image keeps conf.d as its last layer: equal layers below it mean the same binary
    and main config, so a changed conf.d needs a reload, not a new container."""
    return running is not None and new is not None and running[:-1] == new[:-1]


class Rollout:
    def __init__(
        self,
        vm: Vm,
        layout: Layout,
        stages: Stages,
        *,
        health_timeout_s: float,
        drain_timeout_s: float,
        public_url: str,
        on_failed_containers: Callable[[list[Container]], None],
    ) -> None:
        self.vm = vm
        self.layout = layout
        self.stages = stages
        self.health_timeout_s = health_timeout_s
        self.drain_timeout_s = drain_timeout_s
        self.public_url = public_url
        self.on_failed_containers = on_failed_containers
        # Services whose settings differ between the release leaving and the one arriving: they
        # read them at start only, so they are recreated (deploy/release_settings.py).
        self.recreate: frozenset[str] = frozenset()

    # --- services that are not switched ------------------------------------------------------
    def ensure_data(self, sha: str) -> None:
        for service in sorted(DATA_SERVICES):
            running = self.vm.containers(service)
            if running:
                self.stages.note(f"{service}: running since before, left alone ({running[0].name})")
                continue
            self.vm.compose(sha, "up", "--detach", "--no-deps", "--no-recreate", service)
            started = self.vm.containers(service)
            self.vm.wait_healthy([c.id for c in started], self.health_timeout_s)
            self.stages.note(f"{service}: started")

    def ensure_support(
        self, sha: str, images: list[ServiceImage], absent: set[str], *, stop_others: bool = False
    ) -> None:
        """Monitoring and exporters: recreated only when their image's files changed.
        STOP_OTHERS (a rollback): services SHA does not run are stopped, since a failed release
        may have started one its predecessor did not have."""
        skip = DATA_SERVICES | {EDGE_SERVICE, "web", "worker"} | absent
        for item in images:
            if item.service in skip:
                continue
            running = self.vm.containers(item.service)
            if (
                running
                and item.service not in self.recreate
                and self.vm.image_layers(running[0].image_id) == self.vm.image_layers(item.image)
            ):
                continue
            recreate = ["--force-recreate"] if item.service in self.recreate else []
            self.vm.compose(sha, "up", "--detach", "--no-deps", *recreate, item.service)
            self.stages.note(f"{item.service}: {'replaced' if running else 'started'}")
        if stop_others:
            wanted = {i.service for i in images} - absent
            others = [c for c in self.vm.containers() if c.service not in wanted]
            self.vm.stop(others, grace_s=10)
            for container in others:
                self.stages.note(f"{container.service}: not in {sha[:12]}, stopped")

    # --- web ---------------------------------------------------------------------------------
    def start_beside(self, sha: str, service: str) -> tuple[list[Container], list[Container]]:
        # A stopped container of the service would be restarted by compose instead of a new one.
        stale = [
            c for c in self.vm.containers(service, include_stopped=True) if c.status != "running"
        ]
        self.vm.remove_now(stale)
        old = self.vm.containers(service)
        old_ids = {c.id for c in old}
        self.vm.compose(
            sha, "up", "--detach", "--no-deps", "--no-recreate",
            "--scale", f"{service}={len(old) + 1}", service,
        )  # fmt: skip
        new = [c for c in self.vm.containers(service, include_stopped=True) if c.id not in old_ids]
        if not new:
            raise DeployError(f"compose started no new {service} container")
        try:
            healthy = self.vm.wait_healthy([c.id for c in new], self.health_timeout_s)
        except HealthCheckError as failure:
            self.on_failed_containers(failure.containers)
            self.vm.remove_now(failure.containers)
            self.stages.note(f"{service}: new container removed; the old one never left service")
            raise
        self.stages.note(
            f"{service}: {', '.join(c.name for c in healthy)} healthy ({healthy[0].image})"
        )
        return old, healthy

    def switch_web(self, sha: str) -> None:
        old, new = self.start_beside(sha, "web")
        self.hand_over_web(old, new)

    def hand_over_web(self, old: list[Container], new: list[Container]) -> None:
        """All traffic to NEW; OLD drained and stopped."""
        if self.route_web(render_upstream([c.name for c in new])):
            self.stages.note(f"nginx: traffic now goes to {', '.join(c.name for c in new)}")
        if old:
            self.vm.stop(old, grace_s=int(self.drain_timeout_s))
            self.stages.note(f"web: {', '.join(c.name for c in old)} drained and stopped")

    def switch_worker(self, sha: str) -> None:
        old, new = self.start_beside(sha, "worker")
        if old:
            # SIGTERM: the old consumer applies what it read, drains its pending list and
            # leaves the group (WORKER_DRAIN_S); compose's stop_grace_period covers it.
            self.vm.stop(old, grace_s=30)
            self.stages.note(f"worker: {', '.join(c.name for c in old)} handed over and stopped")
        for retired in old:
            # Whatever it still left pending (killed, or out of drain time) is claimed now.
            took_over = self.vm.remote.run(take_over_argv(new[0].id, retired.id), check=False)
            if not took_over.ok:
                self.stages.note(
                    f"worker: take-over of {retired.name} failed, its entries wait for the "
                    f"reclaim: {took_over.stderr.strip()[-300:]}"
                )

    # --- nginx -------------------------------------------------------------------------------
    def route_web(self, upstream: str) -> bool:
        """nginx's web servers become UPSTREAM (rendered by deploy/plan.py or nginx_weights.py),
        reloaded gracefully; returns once the old workers have finished their requests. False:
        no nginx runs yet (it starts with the file)."""
        self.vm.remote.write_file(f"{self.layout.nginx_upstream_d}/web.conf", upstream)
        nginx = self.vm.containers(EDGE_SERVICE)
        if not nginx:
            return False
        self.reload_nginx(nginx[0])
        self._wait_nginx_drained(nginx[0])
        return True

    def reload_nginx(self, nginx: Container) -> None:
        check = self.vm.remote.run(["docker", "exec", nginx.id, "nginx", "-t", "-q"], check=False)
        if not check.ok:
            raise DeployError(f"nginx -t refused the new config: {check.stderr.strip()[-300:]}")
        self.vm.docker("exec", nginx.id, "nginx", "-s", "reload")

    def _wait_nginx_drained(self, nginx: Container) -> None:
        """Old nginx workers finish their in-flight requests, then exit."""
        deadline = time.monotonic() + self.drain_timeout_s
        time.sleep(0.5)  # the master starts new workers before it tells the old ones to quit
        while time.monotonic() < deadline:
            processes = self.vm.docker("top", nginx.id, "-eo", "args", check=False)
            if SHUTTING_DOWN not in processes:
                return
            time.sleep(0.5)
        self.stages.note(
            f"nginx: old workers still busy after {self.drain_timeout_s:.0f}s; going on"
        )

    def apply_nginx(self, sha: str, image: str) -> None:
        """Start nginx, reload it for a config change, or replace it when its image changed
        below conf.d (then the gap in service is measured and printed)."""
        release_conf = f"{self.layout.release_dir(sha)}/nginx/conf.d"
        live = self.layout.nginx_conf_d
        changed = not self.vm.remote.run(["diff", "-r", "-q", release_conf, live], check=False).ok
        nginx = self.vm.containers(EDGE_SERVICE)
        if changed:
            self._sync_conf(release_conf, live)
        if not nginx:
            self.vm.compose(sha, "up", "--detach", "--no-deps", EDGE_SERVICE)
            started = self.vm.containers(EDGE_SERVICE, include_stopped=True)
            try:
                self.vm.wait_healthy([c.id for c in started], self.health_timeout_s)
            except HealthCheckError as failure:
                self.on_failed_containers(failure.containers)
                raise
            self.stages.note("nginx: started")
            return
        if EDGE_SERVICE not in self.recreate and same_base(
            self.vm.image_layers(nginx[0].image_id), self.vm.image_layers(image)
        ):
            if changed:
                self.reload_nginx(nginx[0])
                self.stages.note("nginx: config changed, reloaded gracefully")
            else:
                self.stages.note("nginx: same binary and config, left running")
            return
        replace_started = time.monotonic()
        self.vm.compose(sha, "up", "--detach", "--no-deps", "--force-recreate", EDGE_SERVICE)
        gap = self._wait_public(replace_started)
        why = (
            "its settings changed"
            if EDGE_SERVICE in self.recreate
            else "image changed below its config"
        )
        self.stages.note(
            f"nginx: {why}, container REPLACED: public port gap up to {format_duration(gap)}"
        )

    def _sync_conf(self, source: str, live: str) -> None:
        """Copy a release's conf.d into the live directory (its mount keeps the directory)."""
        self.vm.remote.run(["mkdir", "-p", live])
        src, dst = command_line([source]), command_line([live])
        self.vm.remote.shell(f"rm -f {dst}/*.conf && cp {src}/*.conf {dst}/")

    def _wait_public(self, started: float) -> float:
        deadline = started + self.health_timeout_s
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.public_url}/nginx-health", timeout=1).ok:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise DeployError("the replaced nginx did not answer on the public port")
