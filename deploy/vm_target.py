"""`deploy --target vm`: the release's compose project on one VM, switched a part at a time with
zero downtime (deploy/rollout.py), web by canary when the config says so (deploy/canary.py).

The orchestration around it (deploy/deployer.py) is shared with the Swarm target; this is the
VM's implementation of deploy/target.py's interface.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from deploy import release_settings, source
from deploy.canary import (
    CanaryFailedError,
    Measure,
    StepProbes,
    StepReport,
    WebCanary,
    probed,
    prometheus_measure,
)
from deploy.config import Config
from deploy.gate import Limits, Query, http_query
from deploy.layout import Layout
from deploy.nginx_check import check_release_nginx
from deploy.plan import ServiceImage, render_override, render_release_env, service_images
from deploy.target import IMAGES_FILE, Parts, absent_services, current_release, free_port
from slo import load_spec, load_tolerances


class VmTarget:
    def __init__(self, parts: Parts) -> None:
        self.config = parts.config
        self.remote = parts.remote
        self.stages = parts.stages
        self.layout = parts.layout
        self.vm = parts.vm
        self.rollout = parts.rollout
        self.bundle = parts.bundle
        self.annotate = parts.annotate
        # Operator settings come from deploy/environments/, read with the release.
        self.settings: release_settings.ReleaseSettings | None = None

    @staticmethod
    def target_layout(config: Config) -> Layout:
        return Layout(config.app.remote_dir)

    def read_release(self, repo: Path, sha: str, files: Path) -> list[ServiceImage]:
        """The release's files from git into FILES; its images."""
        prefix = self.config.registry.image_prefix
        source.export_files(repo, sha, ["docker-compose.yml", "nginx/conf.d"], files)
        environment = self.config.app.environment
        self.settings = release_settings.load(
            release_settings.committed(repo, sha, environment),
            sha,
            environment,
            (files / "docker-compose.yml").read_text(),
        )
        return service_images(
            source.compose_config(files / "docker-compose.yml", prefix, sha), prefix
        )

    def check_host(self) -> None:
        """What the target needs before anything is locked or changed (nothing more on a VM)."""

    def upload(self, sha: str, files: Path, images: list[ServiceImage], absent: set[str]) -> None:
        release = self.layout.release_dir(sha)
        app = self.config.app
        self.remote.run(
            [
                "mkdir",
                "-p",
                f"{release}/nginx/conf.d",
                self.layout.nginx_conf_d,
                self.layout.nginx_upstream_d,
            ]
        )
        self.remote.write_file(
            f"{release}/docker-compose.yml", (files / "docker-compose.yml").read_text()
        )
        for conf in sorted((files / "nginx" / "conf.d").glob("*.conf")):
            self.remote.write_file(f"{release}/nginx/conf.d/{conf.name}", conf.read_text())
        self.remote.write_file(
            f"{release}/{self.layout.OVERRIDE}", render_override(images, absent, self.layout)
        )
        env = render_release_env(
            sha, self.config.registry.image_prefix, app.http_bind, app.http_port, app.public_url
        )
        if self.settings is not None:
            env += self.settings.env_lines()
            self.remote.write_file(
                f"{release}/{release_settings.SETTINGS_FILE}", self.settings.to_json()
            )
        self.remote.write_file(f"{release}/{self.layout.RELEASE_ENV}", env)
        manifest = {"sha": sha, "images": [vars(i) for i in images], "absent": sorted(absent)}
        self.remote.write_file(f"{release}/{IMAGES_FILE}", json.dumps(manifest, indent=2) + "\n")
        nginx_image = next(i.image for i in images if i.service == "nginx")
        check_release_nginx(self.remote, self.layout, sha, nginx_image)
        self.stages.note(f"nginx -t: the release's conf.d loads in {nginx_image}")

    def switch(
        self,
        sha: str,
        images: list[ServiceImage],
        absent: set[str],
        switched: list[str],
        canary: WebCanary | None,
    ) -> None:
        nginx_image = next(i.image for i in images if i.service == "nginx")
        with self.stages.stage("redis (started once, never restarted)"):
            switched.append("redis")
            self.rollout.ensure_data(sha)
            self._apply_live_settings(sha, images)
        with self.stages.stage("monitoring services"):
            switched.append("support")
            self.rollout.ensure_support(sha, images, absent)
        switched.append("web")
        if canary is not None:
            self._run_canary(canary, sha)
        else:
            with self.stages.stage("switch web (zero downtime)"):
                self.rollout.switch_web(sha)
        self.switch_after_web(sha, nginx_image, switched)

    def switch_after_web(self, sha: str, nginx_image: str, switched: list[str]) -> None:
        with self.stages.stage("nginx config"):
            switched.append("nginx")
            self.rollout.apply_nginx(sha, nginx_image)
        with self.stages.stage("switch worker"):
            switched.append("worker")
            self.rollout.switch_worker(sha)

    @contextmanager
    def prometheus_url(self) -> Iterator[str]:
        """Prometheus on the VM's loopback, through an SSH port forward."""
        port = free_port()
        with self.remote.forward(port, self.config.gate.prometheus_port):
            yield f"http://127.0.0.1:{port}"

    @contextmanager
    def prometheus(self) -> Iterator[Query]:
        with self.prometheus_url() as url:
            yield http_query(url)

    # --- canary (deploy/canary.py) -----------------------------------------------------------
    def canary_for(self, previous: str | None) -> WebCanary | None:
        """A canary needs an old version serving beside it; a first deploy goes all at once."""
        if self.config.deploy.strategy != "canary" or previous is None:
            return None
        if not self.vm.containers("web"):
            self.stages.note("no web serves to judge a canary against: all at once")
            return None
        return self.web_canary()

    def web_canary(self) -> WebCanary:
        tolerances = replace(load_tolerances(), min_requests=self.config.deploy.min_requests)
        return WebCanary(
            self.rollout,
            self.stages,
            self.config.deploy,
            Limits.from_spec(load_spec(), self.config.gate),
            tolerances,
            on_step=lambda sha, report: self.annotate(
                "canary", sha, f"{report.weight} %: {report.verdict}\n{report.table}"
            ),
        )

    @contextmanager
    def canary_measure(self, baseline: str, sha: str) -> Iterator[Measure]:
        with self.prometheus_url() as url:
            yield prometheus_measure(url, self.config.gate.route, baseline, sha)

    @contextmanager
    def canary_probes(self, baseline: str, sha: str) -> Iterator[StepProbes | None]:
        if not self.config.gate.probes:
            yield None
            return
        route = self.config.gate.route
        with (
            self.prometheus_url() as url,
            probed(
                self.config.app.public_url,
                lambda family: prometheus_measure(url, route, baseline, sha, family),
                self.stages.note,
            ) as probes,
        ):
            yield probes

    def _run_canary(self, canary: WebCanary, sha: str) -> None:
        baseline = current_release(self.remote, self.layout) or ""
        try:
            with (
                self.canary_measure(baseline, sha) as measure,
                self.canary_probes(baseline, sha) as probes,
            ):
                canary.run(sha, measure, probes)
        except CanaryFailedError:
            bundle = self.bundle()
            if bundle is not None:
                steps = [step.to_json() for step in canary.steps]
                bundle.write("canary.txt", _tables(canary.steps))
                bundle.write("canary.json", json.dumps(steps, indent=2) + "\n")
            raise

    def stop_first_deploy(self, sha: str, switched: list[str]) -> None:
        """Nothing earlier to go back to: stop and remove what the failed release started, so
        it does not serve unchecked (Redis's volume and the release's files are kept)."""
        with self.stages.stage(f"stop the failed first release {sha[:12]}"):
            if not switched:
                self.stages.note("nothing was started")
                return
            self.vm.compose(sha, "down")
            self.stages.note("its containers are stopped and removed: the VM serves nothing")

    def web_is(self, sha: str) -> bool:
        return self._runs(sha, "web")

    def _runs(self, sha: str, service: str) -> bool:
        running = self.vm.containers(service)
        return bool(running) and all(c.tag == sha for c in running)

    def switch_back(self, sha: str, images: list[ServiceImage], parts: list[str]) -> None:
        """Every part of PARTS back to release SHA; a part already there is left alone, so an
        interrupted switch (both versions' web running) converges too."""
        nginx_image = next(i.image for i in images if i.service == "nginx")
        self._apply_live_settings(sha, images)
        # nginx first: conf.d is SHA's again before anything reloads nginx (web's switch does
        # too), since the failed release's files may be what failed.
        if "nginx" in parts:
            self.rollout.apply_nginx(sha, nginx_image)
        if "web" in parts and not self.web_is(sha):
            self.rollout.switch_web(sha)
        if "worker" in parts and not self._runs(sha, "worker"):
            self.rollout.switch_worker(sha)
        if "support" in parts:
            absent = absent_services(self.remote, self.layout, sha)
            self.rollout.ensure_support(sha, images, absent, stop_others=True)

    def keep_failed_web(self) -> None:
        bundle = self.bundle()
        if bundle is not None:
            bundle.add_containers(self.vm.containers("web"))

    # --- operator settings (deploy/release_settings.py) -------------------------------------
    def settings_against(self, serving: str | None, sha: str) -> str:
        """Print what SHA's settings change against SERVING's and what that restarts; the same
        services are recreated whichever way the switch goes (an automatic rollback too)."""
        old = release_settings.on_vm(self.remote, self.layout, serving)
        new = self.settings or release_settings.on_vm(self.remote, self.layout, sha)
        changes = release_settings.diff(old, new)
        changed = release_settings.readers(changes, old, new)
        where = new.environment or "defaults"
        with self.stages.stage(f"settings ({where} {new.digest}) against what serves"):
            for change in changes:
                self.stages.note(change.describe(old, new))
            for service, keys in changed.items():
                self.stages.note(f"{service}: {release_settings.effect(service, keys)}")
            if not changes:
                self.stages.note("no setting changes")
        self.rollout.recreate = release_settings.to_recreate(changed)
        return release_settings.summary(new, changes)

    def _apply_live_settings(self, sha: str, images: list[ServiceImage]) -> None:
        settings = release_settings.on_vm(self.remote, self.layout, sha)
        wanted = next((i.image for i in images if i.service == "redis"), "")
        for container in self.vm.containers("redis"):
            release_settings.apply_live(self.remote, container.id, settings, self.stages.note)
            if wanted and container.image != wanted:
                self.stages.note(
                    f"redis: runs {container.image}, {sha[:12]} names {wanted}: "
                    "`python -m deploy upgrade-redis` moves it (a planned restart)"
                )


def _tables(steps: list[StepReport]) -> str:
    return "".join(
        f"step {s.weight} %: {s.verdict} in {s.duration_s}s\n{s.table}\n\n" for s in steps
    )
