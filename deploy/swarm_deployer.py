"""`deploy --target swarm`: the same release, checks and automatic rollback as on one VM, with
Docker Swarm doing the switch.

What is shared with the VM target (deploy/deployer.py): the release read from git at its sha,
the pinned SSH connection, the deploy lock, the registry login and pull by immutable tag, the
smoke checks, the SLO check of the new revision, the history, the failure bundle and the pruning.
What differs is the switch: the release is rendered into a stack file (the compose file plus
docker-compose.swarm.yml, through swarm/render.py) and handed to `docker stack deploy`; Swarm
replaces each service's tasks start-first and rolls a service back by itself when a new task
fails its health check. A later failure (smoke or SLO check) deploys the previous release's
stack file again, which Swarm rolls out the same way.

A service whose new image has the same layers as the one it runs keeps its running image
reference, so Swarm leaves it alone: Redis and Prometheus are not restarted by a release that
does not change them (as on one VM).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deploy import source
from deploy.canary import WebCanary
from deploy.config import Config
from deploy.errors import DeployError
from deploy.gate import Query
from deploy.layout import Layout
from deploy.plan import ServiceImage, service_images
from deploy.swarm_secrets import pin_secrets, running_mounts
from deploy.swarm_stack import ServiceState, SwarmStack, image_tag, without_digest
from deploy.target import IMAGES_FILE, Parts
from swarm.render import RenderError, compose_config, stack_file

STACK_FILE = "stack.json"
OVERLAY = "docker-compose.swarm.yml"
# Swarm rolls web out one replica at a time, each watched for update_config's monitor period.
SETTLE_TIMEOUT_S = 600.0


def swarm_layout(config: Config) -> Layout:
    """The Swarm target keeps its own releases, history, lock and `current` beside the VM's."""
    return Layout(f"{config.app.remote_dir}/swarm")


def render_settings(config: Config, sha: str) -> dict[str, str]:
    """What the stack file is rendered with: the release, the public entry, the config's
    [swarm.settings], and placeholders for secrets (Swarm secrets carry them instead)."""
    return {
        **{name: placeholder(name) for name in source.PLACEHOLDER_SECRETS},
        **config.swarm.settings,
        "IMAGE_PREFIX": config.registry.image_prefix,
        "IMAGE_TAG": sha,
        "GIT_REVISION": sha,
        "HTTP_PORT": str(config.app.http_port),
        "PUBLIC_BASE_URL": config.app.public_url,
    }


def used_secrets(stack: dict[str, Any]) -> list[str]:
    return sorted(stack.get("secrets", {}))


def placeholder(name: str) -> str:
    return f"swarm-secret-{name.lower()}-not-here"


def leaked_placeholders(stack: dict[str, Any]) -> list[str]:
    """Secret settings whose placeholder reached the stack file: the overlay must reset them."""
    text = json.dumps(stack)
    return sorted(name for name in source.PLACEHOLDER_SECRETS if placeholder(name) in text)


def keep_unchanged(stack: dict[str, Any], keep: dict[str, str]) -> dict[str, Any]:
    """The stack with KEEP's services (name -> running image) left on the image they run."""
    services = {
        name: {**service, "image": keep.get(name, service["image"])}
        for name, service in stack["services"].items()
    }
    return {**stack, "services": services}


class SwarmTarget:
    """deploy/target.py's interface on a Swarm manager."""

    def __init__(self, parts: Parts) -> None:
        self.config = parts.config
        self.remote = parts.remote
        self.stages = parts.stages
        self.layout = parts.layout
        self.vm = parts.vm
        self.bundle = parts.bundle
        self.stack = SwarmStack(parts.remote, parts.config.swarm.stack)
        # The release's stack file, from read_release on; check_host pins its secrets.
        self.rendered: dict[str, Any] = {}

    @staticmethod
    def target_layout(config: Config) -> Layout:
        return swarm_layout(config)

    # --- before anything is locked or changed ------------------------------------------------
    def read_release(self, repo: Path, sha: str, files: Path) -> list[ServiceImage]:
        prefix = self.config.registry.image_prefix
        source.export_files(repo, sha, ["docker-compose.yml", OVERLAY], files)
        if not (files / OVERLAY).is_file():
            raise DeployError(f"release {sha[:12]} has no {OVERLAY}: it cannot run on Swarm")
        try:
            merged = compose_config(
                [files / "docker-compose.yml", files / OVERLAY],
                None,
                files,
                render_settings(self.config, sha),
            )
        except RenderError as error:
            raise DeployError(f"release {sha[:12]}: {error}") from error
        images = service_images(merged, prefix)
        by_source = {i.source: i.image for i in images}
        try:
            self.rendered = stack_file(merged, lambda image: by_source.get(image) or image)
        except RenderError as error:
            raise DeployError(f"release {sha[:12]}: {error}") from error
        leaked = leaked_placeholders(self.rendered)
        if leaked:
            raise DeployError(
                f"{OVERLAY} of {sha[:12]} leaves {', '.join(leaked)} in the stack file "
                "(each secret must come from a Swarm secret)"
            )
        return images

    def check_host(self) -> None:
        with self.stages.stage("check the swarm: a manager with the stack's secrets"):
            state, manager = self.stack.node_role()
            if state != "active" or not manager:
                raise DeployError(
                    f"{self.remote.label} is not a swarm manager (swarm state {state or 'none'}): "
                    "run `python -m deploy init-swarm` first"
                )
            missing = self.stack.missing_secrets(used_secrets(self.rendered))
            if missing:
                raise DeployError(
                    f"Swarm secret(s) {', '.join(missing)} missing: "
                    "`python -m deploy init-swarm` creates them from the VM's .env"
                )
            self.remote.run(["mkdir", "-p", self.layout.releases, self.layout.bundles])
            self.rendered = pin_secrets(self.rendered, running_mounts(self.remote, self.stack.name))

    # --- the switch ----------------------------------------------------------------------------
    def settings_against(self, serving: str | None, sha: str) -> str:
        """Nothing to say: [swarm.settings] carries a Swarm's settings, in the stack file."""
        return ""

    def upload(self, sha: str, files: Path, images: list[ServiceImage], absent: set[str]) -> None:
        release = self.layout.release_dir(sha)
        self.remote.run(["mkdir", "-p", release])
        for name in ("docker-compose.yml", OVERLAY):
            self.remote.write_file(f"{release}/{name}", (files / name).read_text())
        manifest = {"sha": sha, "images": [vars(i) for i in images], "absent": sorted(absent)}
        self.remote.write_file(f"{release}/{IMAGES_FILE}", json.dumps(manifest, indent=2) + "\n")

    def _unchanged_services(self, running: dict[str, ServiceState]) -> dict[str, str]:
        """Services whose new image has the layers of the image they run: name -> running image."""
        keep = {}
        for name, service in self.rendered["services"].items():
            now = running.get(name)
            if now is None or name in ("web", "worker"):
                continue
            new_layers = self.vm.image_layers(service["image"])
            if new_layers is not None and new_layers == self.vm.image_layers(
                without_digest(now.image)
            ):
                keep[name] = now.image
        return keep

    def canary_for(self, previous: str | None) -> None:
        """Swarm's canary is not built yet: its rolling update, then the SLO check."""
        if self.config.deploy.strategy == "canary" and previous is not None:
            self.stages.note("--target swarm releases all at once (canary: --target vm only)")

    def switch(
        self,
        sha: str,
        images: list[ServiceImage],
        absent: set[str],
        switched: list[str],
        canary: WebCanary | None,
    ) -> None:
        running = self.stack.services()
        services = {k: v for k, v in self.rendered["services"].items() if k not in absent}
        self.rendered = {**self.rendered, "services": services}
        keep = self._unchanged_services(running)
        stack = keep_unchanged(self.rendered, keep)
        path = f"{self.layout.release_dir(sha)}/{STACK_FILE}"
        self.remote.write_file(path, json.dumps(stack, indent=2) + "\n")
        if keep:
            self.stages.note(f"unchanged, left running: {', '.join(sorted(keep))}")
        with self.stages.stage(f"docker stack deploy {self.stack.name} (Swarm rolls it out)"):
            switched.append("stack")
            self._roll_out(path, running, switching_back=False)

    def _roll_out(
        self, path: str, before: dict[str, ServiceState], *, switching_back: bool
    ) -> None:
        self.stack.deploy(path)

        def settled(name: str, after: ServiceState, reason: str) -> None:
            was = before.get(name)
            if reason:
                self.stages.note(f"{name}: ROLLED BACK by Swarm ({reason})")
            elif was is None:
                self.stages.note(f"{name}: started ({image_tag(after.image)[:12]})")
            elif was.task_template != after.task_template:
                self.stages.note(f"{name}: updated start-first ({image_tag(after.image)[:12]})")

        outcome = self.stack.wait(before, SETTLE_TIMEOUT_S, settled)
        rolled_back = {name: reason for name, reason in outcome.items() if reason}
        if rolled_back and not switching_back:
            bundle = self.bundle()
            for name in sorted(rolled_back):
                if bundle is not None:
                    bundle.write(f"{name}.txt", self.stack.diagnostics(name))
            name = sorted(rolled_back)[0]
            image = str(self.rendered["services"].get(name, {}).get("image", ""))
            errors = self.stack.task_errors(name, image)
            why = (
                f"a new task failed before passing its health check ({errors[0]})"
                if errors
                else "a new task never passed its health check"
            )
            raise DeployError(f"{name}: {why}; Swarm rolled {name} back ({rolled_back[name]})")
        if rolled_back:
            raise DeployError(
                f"Swarm rolled back {', '.join(sorted(rolled_back))} while switching back"
            )

    def switch_back(self, sha: str, images: list[ServiceImage], parts: list[str]) -> None:
        path = f"{self.layout.release_dir(sha)}/{STACK_FILE}"
        if not self.remote.run(["test", "-s", path], check=False).ok:
            raise DeployError(f"release {sha[:12]} was never deployed to Swarm here")
        self.stages.note(f"docker stack deploy of {sha[:12]}'s stack file")
        self._roll_out(path, self.stack.services(), switching_back=True)

    def stop_first_deploy(self, sha: str, switched: list[str]) -> None:
        with self.stages.stage(f"remove the failed first stack {self.stack.name} ({sha[:12]})"):
            if not switched:
                self.stages.note("nothing was started")
                return
            self.stack.docker("stack", "rm", self.stack.name)
            self.stages.note("its services are removed: the swarm serves nothing")

    def web_is(self, sha: str) -> bool:
        web = self.stack.services().get("web")
        if web is None or image_tag(web.image) != sha:
            return False
        tasks = [t for t in self.stack.tasks() if t.service_id == web.id]
        return bool(tasks) and all(
            image_tag(t.image) == sha and t.state == "running" for t in tasks
        )

    # --- checks ------------------------------------------------------------------------------
    @contextmanager
    def prometheus(self) -> Iterator[Query]:
        with self.stack.prometheus() as query:
            yield query

    def keep_failed_web(self) -> None:
        bundle = self.bundle()
        if bundle is not None:
            bundle.write("web.txt", self.stack.diagnostics("web"))


def stack_status(stack: SwarmStack) -> list[str]:
    """One line per service: replicas running of wanted, image tag, update state."""
    services = stack.services()
    tasks = stack.tasks()
    lines = []
    for name, service in sorted(services.items()):
        mine = [t for t in tasks if t.service_id == service.id]
        running = sum(1 for t in mine if t.state == "running")
        wanted = "global" if service.replicas is None else str(service.replicas)
        tag = image_tag(service.image)
        lines.append(
            f"  {name:<15} {running}/{wanted:<7} {tag[:12] or without_digest(service.image):<14} "
            f"{service.update_state or '-'}"
        )
    return lines
