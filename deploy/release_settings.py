"""Operator settings of a VM release: deploy/environments/<environment>.toml, committed.

A settings change is a commit, so it is a release like any other: `deploy <sha>` prints its
diff against the release that serves, history records its digest and changes, and `rollback`
brings the earlier release's settings back with its images (each release directory on the VM
keeps its own release.env and settings.json).

Only what docker-compose.yml reads may be set, and each value is checked by its owner before
anything connects: web's and worker's pydantic models, nginx/render-limits.sh, Redis's size
pattern. Secrets stay in the VM's .env (`rotate-secret`); what the tool derives itself (image
tags, [app]'s address and URL) or builds into a release (the *_IMAGE pins) is refused.

What a changed setting restarts (`effect`): web and worker are replaced with zero downtime on
every deploy anyway; nginx reads its rate limits at start, so it is recreated (a public-port gap
the rollout measures); REDIS_MAXMEMORY is applied to the running Redis with CONFIG SET.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import yaml
from pydantic import BaseModel

from deploy import redis_auth, shell_values
from deploy.errors import DeployError
from deploy.host import Host
from deploy.layout import Layout
from deploy.source import OPERATOR_SECRETS, SECRETS
from linkpulse.settings import ConfigError, load_settings
from web.config import ServerSettings, WebSettings
from worker.settings import WorkerSettings

ENVIRONMENTS = "deploy/environments"
SETTINGS_FILE = "settings.json"
RENDER_LIMITS = Path(__file__).resolve().parents[1] / "nginx" / "render-limits.sh"
# Written by the tool from the sha and deploy.toml's [app] (plan.render_release_env), or fixed
# at build time: never an operator setting.
TOOL_OWNED = frozenset(
    {"IMAGE_PREFIX", "IMAGE_TAG", "GIT_REVISION", "HTTP_BIND", "HTTP_PORT", "PUBLIC_BASE_URL"}
    | {"APP_VERSION", "IMAGE_SOURCE"}
)
# Services every deploy replaces with zero downtime: their settings need nothing more.
REPLACED_ANYWAY = frozenset({"web", "worker"})
# Applied to the running Redis (it is never recreated by a deploy).
LIVE_REDIS = {"REDIS_MAXMEMORY": "maxmemory"}
# A value as an env file carries it verbatim: no quotes, `$`, `#`, spaces or newlines.
_VALUE = re.compile(r"[A-Za-z0-9._:/,%@+=*-]*")
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# What the owners' models need besides the setting under test; never sent anywhere.
_MODEL_PLACEHOLDERS = {
    "REDIS_URL": "redis://placeholder:6379/0",
    "PUBLIC_BASE_URL": "https://placeholder.invalid",
    "VISITOR_HASH_SALT": "placeholder-salt-of-16+",
    "PROMETHEUS_MULTIPROC_DIR": "/tmp",  # noqa: S108 # a placeholder, never used
}
_MODELS: tuple[type[BaseModel], ...] = (WebSettings, ServerSettings, WorkerSettings)


@dataclass(frozen=True)
class Variable:
    default: str  # compose's `${NAME:-default}`; empty when it has none
    services: tuple[str, ...]


def variables(compose_text: str) -> dict[str, Variable]:
    """The operator settings docker-compose.yml reads: name -> its default and readers."""
    raw = yaml.safe_load(compose_text)
    if not isinstance(raw, dict):
        return {}
    defaults: dict[str, str] = {}
    readers: dict[str, set[str]] = {}
    for service, body in (raw.get("services") or {}).items():
        if body.get("profiles"):
            continue  # started on request (the load generators), never by a deploy
        for match in _VARIABLE.finditer(json.dumps(body)):
            name, operator, default = match.groups()
            if (
                name in SECRETS
                or name in OPERATOR_SECRETS
                or name in TOOL_OWNED
                or name.endswith("_IMAGE")
            ):
                continue
            if operator and operator.endswith("-"):
                defaults.setdefault(name, default)
            readers.setdefault(name, set()).add(service)
    return {
        name: Variable(defaults.get(name, ""), tuple(sorted(services)))
        for name, services in sorted(readers.items())
    }


@dataclass(frozen=True)
class ReleaseSettings:
    environment: str
    values: dict[str, str]
    known: dict[str, Variable] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.values, sort_keys=True).encode()).hexdigest()[:12]

    def effective(self, name: str) -> str:
        variable = self.known.get(name)
        return self.values.get(name, variable.default if variable else "")

    def env_lines(self) -> str:
        return "".join(f"{key}={value}\n" for key, value in sorted(self.values.items()))

    def to_json(self) -> str:
        known = {
            k: {"default": v.default, "services": list(v.services)} for k, v in self.known.items()
        }
        body = {"environment": self.environment, "values": self.values, "known": known}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ReleaseSettings:
        raw = json.loads(text)
        known = {
            k: Variable(str(v["default"]), tuple(v["services"])) for k, v in raw["known"].items()
        }
        return cls(str(raw["environment"]), dict(raw["values"]), known)


def parse(
    text: str, where: str, environment: str, known: Mapping[str, Variable]
) -> ReleaseSettings:
    """The settings file's values, each checked; the first problem is one line naming its key."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DeployError(f"{where}: {error}") from error
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key in SECRETS:
            raise DeployError(
                f"{where}: {key} is a secret: it stays in the VM's .env "
                f"(`python -m deploy rotate-secret {key}` changes it)"
            )
        if key in OPERATOR_SECRETS:
            raise DeployError(
                f"{where}: {key} is a secret: it stays in the VM's .env, never in a committed file "
                '(docs/operations.md, "Paging a person")'
            )
        if key in TOOL_OWNED or key.endswith("_IMAGE"):
            raise DeployError(
                f"{where}: {key} is not an operator setting: the deploy tool sets it from the "
                "release and deploy.toml"
            )
        if key not in known:
            raise DeployError(
                f"{where}: unknown setting {key}: docker-compose.yml reads no such variable"
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DeployError(f"{where}: {key} must be a string or a number, not {value!r}")
        if not _VALUE.fullmatch(str(value)):
            raise DeployError(
                f"{where}: {key} = {value!r}: only letters, digits and ._:/,%@+=*- are allowed"
            )
        values[key] = str(value)
    _check_with_owners(where, values, known)
    return ReleaseSettings(environment, values, dict(known))


def _check_with_owners(where: str, values: dict[str, str], known: Mapping[str, Variable]) -> None:
    for model in _MODELS:
        names = {f.alias for f in model.model_fields.values()}
        if names & set(values):
            try:
                load_settings(model, {**_MODEL_PLACEHOLDERS, **values})
            except ConfigError as error:
                raise DeployError(f"{where}: {error}") from error
    if "REDIS_MAXMEMORY" in values:
        shell_values.check(
            Path(where), "REDIS_MAXMEMORY", values["REDIS_MAXMEMORY"],
            shell_values.REDIS_MAXMEMORY, "a size like 200mb",
        )  # fmt: skip
    nginx = {k: v for k, v in values.items() if "nginx" in known[k].services}
    if nginx:
        _check_nginx(where, nginx)


def _check_nginx(where: str, values: dict[str, str]) -> None:
    """nginx's own renderer, on this machine, refuses what the container would refuse."""
    with tempfile.TemporaryDirectory(prefix="limits-") as out:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NGINX_RUNTIME_DIR": out, **values}
        result = subprocess.run(
            ["sh", str(RENDER_LIMITS)], env=env, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        line = (result.stderr.strip().splitlines() or ["render-limits.sh failed"])[-1]
        raise DeployError(f"{where}: {line.removeprefix('nginx: ')}")


# --- reading a release's settings ------------------------------------------------------------
def settings_path(environment: str) -> str:
    return f"{ENVIRONMENTS}/{environment}.toml"


def committed(repo: Path, sha: str, environment: str) -> str | None:
    """The settings file at SHA; None when that commit has none (the stack's defaults)."""
    result = subprocess.run(
        ["git", "show", f"{sha}:{settings_path(environment)}"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stdout if result.returncode == 0 else None


def load(text: str | None, sha: str, environment: str, compose_text: str) -> ReleaseSettings:
    known = variables(compose_text)
    if text is None:
        return ReleaseSettings(environment, {}, known)
    return parse(text, f"{settings_path(environment)} at {sha[:12]}", environment, known)


@overload
def on_vm(remote: Host, layout: Layout, sha: str) -> ReleaseSettings: ...
@overload
def on_vm(remote: Host, layout: Layout, sha: None) -> None: ...
@overload
def on_vm(remote: Host, layout: Layout, sha: str | None) -> ReleaseSettings | None: ...


def on_vm(remote: Host, layout: Layout, sha: str | None) -> ReleaseSettings | None:
    """What release SHA was deployed with; a release from before settings files: the defaults of
    its compose file; None when nothing serves."""
    if sha is None:
        return None
    release = layout.release_dir(sha)
    stored = remote.run(["cat", f"{release}/{SETTINGS_FILE}"], check=False)
    if stored.ok:
        try:
            return ReleaseSettings.from_json(stored.stdout)
        except (ValueError, KeyError, TypeError):
            pass  # torn by a killed upload: its compose file's defaults are the next best
    compose = remote.run(["cat", f"{release}/docker-compose.yml"], check=False)
    try:
        known = variables(compose.stdout) if compose.ok else {}
    except yaml.YAMLError:
        known = {}
    return ReleaseSettings("", {}, known)


# --- what changes, and what that restarts ----------------------------------------------------
@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str

    def describe(self, old: ReleaseSettings | None, new: ReleaseSettings) -> str:
        def shown(value: str, settings: ReleaseSettings | None) -> str:
            set_here = settings is not None and self.key in settings.values
            return value if set_here else f"{value or '(empty)'} (default)"

        return f"{self.key}: {shown(self.old, old)} -> {shown(self.new, new)}"


def diff(old: ReleaseSettings | None, new: ReleaseSettings) -> list[Change]:
    """Settings whose effective value differs (a default made explicit is no change)."""
    before = old or ReleaseSettings(new.environment, {}, new.known)
    keys = sorted(set(before.values) | set(new.values))
    changes = [Change(k, before.effective(k), new.effective(k)) for k in keys]
    return [c for c in changes if c.old != c.new]


def readers(changes: list[Change], *settings: ReleaseSettings | None) -> dict[str, list[str]]:
    """service -> the changed keys it reads."""
    found: dict[str, list[str]] = {}
    for change in changes:
        services = {
            s for r in settings if r for s in r.known.get(change.key, Variable("", ())).services
        }
        for service in sorted(services):
            found.setdefault(service, []).append(change.key)
    return found


def effect(service: str, keys: list[str]) -> str:
    if service in REPLACED_ANYWAY:
        return "replaced with zero downtime, as on every deploy"
    if service == "redis":
        live = [k for k in keys if k in LIVE_REDIS]
        rest = [k for k in keys if k not in LIVE_REDIS]
        parts = (
            [f"{', '.join(live)} by CONFIG SET on the running Redis (no restart)"] if live else []
        )
        if rest:
            parts.append(f"{', '.join(rest)} at the next `python -m deploy upgrade-redis`")
        return "; ".join(parts)
    return "recreated: a public-port gap, measured below" if service == "nginx" else "recreated"


def to_recreate(changed: Mapping[str, list[str]]) -> frozenset[str]:
    return frozenset(changed) - REPLACED_ANYWAY - {"redis"}


def summary(new: ReleaseSettings, changes: list[Change]) -> str:
    """The history's settings field: environment, digest, and what changed."""
    head = f"{new.environment or 'defaults'} {new.digest}"
    shown = [f"{c.key}={c.new if c.key in new.values else '(default)'}" for c in changes]
    return head + (": " + ", ".join(shown) if shown else "")


# --- Redis, live ---------------------------------------------------------------------------
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def redis_bytes(size: str) -> int:
    """A size as redis-server reads it (200mb, 1gb, 5000) in bytes."""
    match = re.fullmatch(r"([0-9]+)([a-zA-Z]*)", size.strip())
    if match is None or match.group(2).lower() not in _UNITS:
        raise DeployError(f"{size!r} is not a Redis size")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def redis_cli(container: str, *args: str) -> list[str]:
    """redis-cli in the Redis container, with the password the server requires."""
    return ["docker", "exec", container, *redis_auth.redis_cli(*args)]


def apply_live(
    remote: Host, container: str, settings: ReleaseSettings, note: Callable[[str], None]
) -> None:
    """Each live Redis setting the running server does not have yet, by CONFIG SET."""
    for key, parameter in LIVE_REDIS.items():
        wanted = settings.effective(key)
        if not wanted:
            continue
        answer = remote.run(redis_cli(container, "CONFIG", "GET", parameter), check=False)
        lines = answer.stdout.split()
        if len(lines) == 2 and lines[1].isdigit() and int(lines[1]) == redis_bytes(wanted):
            continue
        done = remote.run(redis_cli(container, "CONFIG", "SET", parameter, wanted), check=False)
        if done.stdout.strip() not in ("OK", "") or not done.ok:
            raise DeployError(
                f"redis refused CONFIG SET {parameter} {wanted}: {done.stdout.strip()}"
            )
        note(f"redis: {key} {wanted} applied by CONFIG SET (no restart)")
