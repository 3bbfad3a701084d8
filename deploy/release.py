"""`release`: build every image at the checkout's sha, tag it with the full sha (plus branch and
semver tags), push it, and mirror the upstream images the stack runs into the same registry.

Platforms: `--bake` (CI's builder, buildx) builds every image for PLATFORMS and pushes one
multi-platform index per tag, and mirrors upstream's indexes whole, so a VM of either kind pulls
its own; the local path builds and mirrors with the engine alone, for the host's platform only.

An image that cannot be had (Grafana where no registry answers) costs one line and is left out;
the deploy then runs without that service. A release missing a required image fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy import source
from deploy.errors import DeployError
from deploy.plan import REQUIRED_SERVICES, ServiceImage, service_images
from deploy.stages import Stages

# What a release built with --bake runs on (docs/containers.md "Platforms").
PLATFORMS = ("linux/amd64", "linux/arm64")


@dataclass
class ReleaseReport:
    sha: str
    pushed: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # image -> reason


def _docker(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def release(
    repo: Path, prefix: str, stages: Stages, *, allow_dirty: bool = False, bake: bool = False
) -> ReleaseReport:
    repo = repo.resolve()
    if not allow_dirty and not source.is_clean(repo):
        raise DeployError(f"{repo} has uncommitted changes: a release is exactly one commit")
    if not (repo / "build" / "wheels" / ".complete").exists():
        raise DeployError(f"{repo}/build/wheels is missing: run `make wheels` first")
    sha = source.head(repo)
    tags = source.extra_tags(repo)
    report = ReleaseReport(sha)
    compose_file = repo / "docker-compose.yml"
    images = service_images(source.compose_config(compose_file, prefix, sha), prefix)
    build_env = {
        **source.PLACEHOLDER_SECRETS,
        "APP_VERSION": source.app_version(repo),
        "IMAGE_PREFIX": prefix,
        "IMAGE_TAG": sha,
        "GIT_REVISION": sha,
        "COMPOSE_FILE": str(compose_file),
    }
    stages.note(f"release {sha} ({', '.join(tags) or 'no extra tags'}) to {prefix}")
    if bake:
        with stages.stage("buildx bake: build and push by sha (cache, SBOM, provenance)"):
            _bake(repo, images=images, env=build_env, tags=tags, report=report, stages=stages)
    else:
        with stages.stage("build images"):
            built = _build(repo, images, build_env, report, stages)
        with stages.stage("push images"):
            for image in built:
                extra = [image.rsplit(":", 1)[0] + ":" + t for t in tags]
                _push(repo, image, extra, report, stages)
    with stages.stage("mirror upstream images"):
        for item in _unique(i for i in images if not i.built):
            (_mirror_index if bake else _mirror)(repo, item, report, stages)
    required_missing = {
        i.service for i in images if i.service in REQUIRED_SERVICES and i.image in report.left_out
    }
    if required_missing:
        raise DeployError(
            f"release {sha[:12]} lacks required image(s) for {', '.join(sorted(required_missing))}"
        )
    return report


def _unique(items: Iterable[ServiceImage]) -> list[ServiceImage]:
    seen: dict[str, ServiceImage] = {}
    for item in items:
        seen.setdefault(item.image, item)
    return list(seen.values())


def _build(
    repo: Path,
    images: list[ServiceImage],
    env: dict[str, str],
    report: ReleaseReport,
    stages: Stages,
) -> list[str]:
    built = []
    for item in _unique(i for i in images if i.built):
        result = _docker("compose", "build", "--quiet", item.service, cwd=repo, env=env)
        if result.returncode != 0:
            reason = _missing_base(repo, item.service, env) or _last_line(result)
            report.left_out[item.image] = reason
            stages.note(f"left out: {item.image}: {reason[:160]}")
            continue
        stages.note(f"built {item.image}")
        built.append(item.image)
    return built


def _bake(
    repo: Path,
    *,
    images: list[ServiceImage],
    env: dict[str, str],
    tags: list[str],
    report: ReleaseReport,
    stages: Stages,
) -> None:
    """CI's builder: every built service at once for every platform, pushed as one index per
    image with its attestations, cached in the GitHub Actions cache; extra tags are added
    registry-side (no second push of the layers)."""
    built = _unique(i for i in images if i.built)
    result = _docker(
        "buildx", "bake", "--file", "docker-compose.yml", "--push",
        "--set", f"*.platform={','.join(PLATFORMS)}",
        "--provenance", "mode=max", "--sbom", "true",
        "--set", "*.cache-from=type=gha", "--set", "*.cache-to=type=gha,mode=max",
        *[i.service for i in built],
        cwd=repo, env=env,
    )  # fmt: skip
    if result.returncode != 0:
        raise DeployError(f"buildx bake: {_last_line(result)}")
    for item in built:
        report.pushed.append(item.image)
        stages.note(f"pushed {item.image}")
        for tag in tags:
            ref = item.image.rsplit(":", 1)[0] + ":" + tag
            tagged = _docker("buildx", "imagetools", "create", "--tag", ref, item.image, cwd=repo)
            if tagged.returncode != 0:
                raise DeployError(f"tag {ref}: {_last_line(tagged)}")
            report.pushed.append(ref)


def _missing_base(repo: Path, service: str, env: dict[str, str]) -> str:
    """Why a build failed, when the reason is a base image this machine cannot get."""
    config = source.compose_config(
        repo / "docker-compose.yml", env["IMAGE_PREFIX"], env["IMAGE_TAG"]
    )
    build = config["services"][service].get("build", {})
    dockerfile = Path(build.get("context", repo)) / build.get("dockerfile", "Dockerfile")
    try:
        text = dockerfile.read_text()
    except OSError:
        return ""
    for base in base_images(text, build.get("args") or {}):
        if _docker("image", "inspect", base, cwd=repo).returncode != 0:
            return f"its base image {base} cannot be pulled here"
    return ""


def base_images(dockerfile: str, args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's FROM lines name; a FROM naming an ARG means the build arg
    compose passes (the pins of docker/upstream-images.env), else the ARG's default. Stages
    (FROM build) and names with no value are left out."""
    defaults: dict[str, str] = {f"${{{name}}}": value for name, value in args.items()}
    stages: set[str] = set()
    bases = []
    for line in dockerfile.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "ARG" and "=" in parts[1]:
            name, _, default = parts[1].partition("=")
            defaults.setdefault(f"${{{name}}}", default)
        elif len(parts) >= 2 and parts[0].upper() == "FROM":
            base = defaults.get(parts[1], parts[1])
            if "$" not in base and base not in stages and base not in bases:
                bases.append(base)
            if len(parts) >= 4 and parts[2].upper() == "AS":
                stages.add(parts[3])
    return bases


def _push(repo: Path, image: str, extra: list[str], report: ReleaseReport, stages: Stages) -> None:
    for ref in [image, *extra]:
        if ref != image:
            _docker("tag", image, ref, cwd=repo)
        result = _docker("push", "--quiet", ref, cwd=repo)
        if result.returncode != 0:
            raise DeployError(f"push {ref}: {_last_line(result)}")
        report.pushed.append(ref)
        stages.note(f"pushed {ref}")


def _mirror(repo: Path, item: ServiceImage, report: ReleaseReport, stages: Stages) -> None:
    present = _docker("image", "inspect", item.source, cwd=repo).returncode == 0
    if not present:
        pulled = _docker("pull", "--quiet", item.source, cwd=repo)
        if pulled.returncode != 0:
            report.left_out[item.image] = _last_line(pulled)
            stages.note(f"left out: {item.source}: cannot be pulled here")
            return
    _docker("tag", item.source, item.image, cwd=repo)
    result = _docker("push", "--quiet", item.image, cwd=repo)
    if result.returncode != 0:
        raise DeployError(f"push {item.image}: {_last_line(result)}")
    report.pushed.append(item.image)
    stages.note(f"mirrored {item.source} as {item.image}")


def _mirror_index(repo: Path, item: ServiceImage, report: ReleaseReport, stages: Stages) -> None:
    """Registry to registry, the whole upstream index: every platform, as --bake's own images."""
    result = _docker("buildx", "imagetools", "create", "--tag", item.image, item.source, cwd=repo)
    if result.returncode != 0:
        report.left_out[item.image] = _last_line(result)
        stages.note(f"left out: {item.source}: {_last_line(result)[:160]}")
        return
    report.pushed.append(item.image)
    stages.note(f"mirrored {item.source} (every platform) as {item.image}")
