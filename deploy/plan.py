"""What a release is made of, derived from the compose file at its sha (pure functions).

Services with a `build` are the project's images, tagged <prefix>/<name>:<sha>. Services that
run an upstream image unchanged (redis, exporters) are mirrored into the same registry under
<prefix>/<basename>:<upstream tag>, so the VM pulls everything from one registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.errors import DeployError
from deploy.layout import Layout

# Without these the VM serves nothing: a release missing one of them cannot be deployed.
REQUIRED_SERVICES = frozenset({"nginx", "web", "worker", "redis"})
# Never recreated by a deploy or rollback once running: it holds the data.
DATA_SERVICES = frozenset({"redis"})
# Replaced with zero downtime by deploy/rollout.py.
APP_SERVICES = ("web", "worker")
EDGE_SERVICE = "nginx"
# The compose stack's web servers, baked into the nginx image. Its server line (after the host:
# the port and parameters such as max_fails) is the template of the VM's list.
STACK_UPSTREAM = Path(__file__).resolve().parents[1] / "nginx" / "upstream.d" / "web.conf"
_SERVER_LINE = re.compile(r"^server web(:\d+ [^;\n]*;)$", re.MULTILINE)


@dataclass(frozen=True)
class ServiceImage:
    service: str
    image: str  # what the VM runs: always a reference into the release's registry
    source: str  # what is built or mirrored on the controller
    built: bool


def mirror_ref(prefix: str, upstream: str) -> str:
    """prom/node-exporter:v1.9.0 -> <prefix>/node-exporter:v1.9.0; a digest after the tag
    (docker/upstream-images.env) chooses what is mirrored, so it is no part of the name."""
    name, _, tag = upstream.partition("@")[0].rpartition(":")
    if not name or "/" in tag:
        raise DeployError(f"upstream image {upstream!r} has no pinned tag")
    return f"{prefix}/{name.rsplit('/', 1)[-1]}:{tag}"


def service_images(compose_config: dict[str, Any], prefix: str) -> list[ServiceImage]:
    """One entry per service, from `docker compose config --format json` rendered with
    IMAGE_PREFIX=<prefix> and IMAGE_TAG=<sha>."""
    images = []
    mirrored: dict[str, str] = {}
    for service, raw in sorted(compose_config.get("services", {}).items()):
        image = str(raw.get("image", ""))
        if not image:
            raise DeployError(f"compose service {service} names no image")
        if "build" in raw:
            if not image.startswith(prefix + "/"):
                raise DeployError(f"compose service {service}: image {image} is not under {prefix}")
            images.append(ServiceImage(service, image, image, built=True))
            continue
        target = mirror_ref(prefix, image)
        if mirrored.setdefault(target, image) != image:
            raise DeployError(f"{image} and {mirrored[target]} would both mirror to {target}")
        images.append(ServiceImage(service, target, image, built=False))
    missing = REQUIRED_SERVICES - {i.service for i in images}
    if missing:
        raise DeployError(
            f"the compose file lacks required service(s) {', '.join(sorted(missing))}"
        )
    return images


def render_override(images: list[ServiceImage], absent: set[str], layout: Layout) -> str:
    """The VM's compose override: registry images only, never a pull by compose (the tool pulls
    first), services without an image left out, nginx's config from the VM's live directories."""
    services: dict[str, Any] = {}
    for item in images:
        entry: dict[str, Any] = {"image": item.image, "pull_policy": "never"}
        if item.service in absent:
            entry = {"profiles": ["not-in-this-release"]}
        elif item.service == EDGE_SERVICE:
            entry["volumes"] = [
                f"{layout.nginx_conf_d}:/etc/nginx/conf.d:ro",
                f"{layout.nginx_upstream_d}:/etc/nginx/upstream.d:ro",
            ]
        services[item.service] = entry
    # JSON is YAML: compose reads it as it is.
    return json.dumps({"services": services}, indent=2, sort_keys=True) + "\n"


def render_release_env(
    sha: str, prefix: str, http_bind: str, http_port: int, public_url: str
) -> str:
    """Non-secret settings of the release (the secrets stay in the VM's own .env)."""
    values = {
        "IMAGE_PREFIX": prefix,
        "IMAGE_TAG": sha,
        "GIT_REVISION": sha,
        "HTTP_BIND": http_bind,
        "HTTP_PORT": str(http_port),
        "PUBLIC_BASE_URL": public_url,
    }
    return "".join(f"{key}={value}\n" for key, value in values.items())


def render_upstream(container_names: list[str], weights: Mapping[str, int] | None = None) -> str:
    """nginx's web servers: exactly the containers in rotation, by their unique DNS names, each
    with the port and parameters of the stack's own server line, which alone holds them, and its
    weight where WEIGHTS names one (a canary's split, deploy/nginx_weights.py)."""
    if not container_names:
        raise DeployError("refusing to render an nginx upstream with no web server")
    server = _SERVER_LINE.search(STACK_UPSTREAM.read_text())
    if server is None:
        raise DeployError(f"{STACK_UPSTREAM} has no `server web:<port> <parameters>;` line")
    parameters = server.group(1).removesuffix(";")
    weighted = weights or {}
    return "".join(
        f"server {name}{parameters}"
        + (f" weight={weighted[name]}" if name in weighted else "")
        + ";\n"
        for name in sorted(container_names)
    )
