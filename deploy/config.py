"""The deploy configuration: one TOML file, checked completely before anything connects."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import shell_values
from deploy.errors import DeployError
from deploy.source import OPERATOR_SECRETS, PLACEHOLDER_SECRETS
from linkpulse.routes import REDIRECT_ROUTE
from slo import SpecError, duration_seconds, load_spec

_IMAGE_PREFIX = re.compile(r"^[a-z0-9.:-]+(/[a-z0-9._-]+)+$")
_STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SETTING = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SECRET_SETTINGS = frozenset({*PLACEHOLDER_SECRETS, *OPERATOR_SECRETS})


@dataclass(frozen=True)
class HostConfig:
    address: str
    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    # The account `provision` logs in as on a fresh VM (root or a sudo-less admin).
    provision_user: str = "root"
    provision_identity_file: Path | None = None


@dataclass(frozen=True)
class SshConfig:
    """How long the controller waits on the VM before it calls the connection lost."""

    # A keepalive every keepalive_s keeps the connection's TCP traffic flowing; when nothing
    # sent is acknowledged for lost_after_s (a VM that stopped answering, a blocked port), the
    # connection is dropped and the deploy ends, naming the stage, instead of hanging.
    keepalive_s: int = 15
    lost_after_s: int = 60
    connect_timeout_s: int = 10
    # The longest any single command on the VM may take (a pull of every image is the longest).
    command_timeout_s: int = 900


@dataclass(frozen=True)
class RegistryConfig:
    # Where images live: <image_prefix>/<name>:<tag>, e.g. registry.example/team/linkpulse.
    image_prefix: str
    # The read-only credential the VM logs in with; empty username: the registry needs no login.
    pull_username: str = ""
    pull_password_file: Path | None = None

    @property
    def address(self) -> str:
        return self.image_prefix.split("/", 1)[0]


@dataclass(frozen=True)
class AppConfig:
    # The public entry the smoke checks use, as the controller reaches it.
    public_url: str
    # What the VM's nginx publishes: <bind>:<port> on the VM.
    http_bind: str = "0.0.0.0"  # noqa: S104 # the public entry: nginx publishes on every address
    http_port: int = 8080
    remote_dir: str = "/srv/linkpulse"
    # Good releases whose images are kept on the VM, safe from pruning, for a rollback.
    keep_releases: int = 3
    health_timeout_s: float = 90.0
    drain_timeout_s: float = 30.0
    # Its operator settings: deploy/environments/<environment>.toml at the deployed sha.
    environment: str = "production"


@dataclass(frozen=True)
class GateConfig:
    """The SLO check after the switch. Thresholds always come from slo/objectives.toml; the
    window, request floor and wait default to its deploy_gate and may be shortened here."""

    window: str
    min_requests: int
    max_wait: str
    route: str = REDIRECT_ROUTE
    prometheus_port: int = 9090
    # Fill a shortfall of users' requests with the tool's own (deploy/probe.py).
    probes: bool = True

    @property
    def window_s(self) -> int:
        return duration_seconds(self.window)

    @property
    def max_wait_s(self) -> int:
        return duration_seconds(self.max_wait)


STRATEGIES = ("canary", "all-at-once")
ON_INCONCLUSIVE = ("abort", "pause")


@dataclass(frozen=True)
class DeploySettings:
    """How a release meets its users (docs/deploy.md, "Canary releases")."""

    strategy: str = "canary"
    # The canary's share of requests at each step, in %; the last is 100 (the switch).
    steps: list[int] = field(default_factory=lambda: [10, 50, 100])
    # A step decides once each side has this many redirects in its window: a p99 of fewer than
    # 100 samples is their maximum, so fewer cannot judge the SLO's quantile.
    min_requests: int = 100
    # A step without min_requests on each side by then is inconclusive, and aborts.
    step_max_wait: str = "3m"
    # Or pauses: the split and the lock stay until `deploy promote` or `deploy abort`.
    on_inconclusive: str = "abort"

    @property
    def step_max_wait_s(self) -> int:
        return duration_seconds(self.step_max_wait)


@dataclass(frozen=True)
class ProvisionConfig:
    # Extra environment for the VM's dockerd (e.g. what a nested engine needs).
    dockerd_env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SwarmConfig:
    """`--target swarm`: the stack on a Swarm manager reached as [host] (docs/scaling.md)."""

    stack: str = "linkpulse"
    # The address other nodes reach this manager at; empty: Docker picks the default route's.
    advertise_addr: str = ""
    # Non-secret settings the stack file is rendered with (the .env keys of docker-compose.yml,
    # e.g. WEB_REPLICAS); secrets come from Swarm secrets made by `init-swarm`.
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GrafanaConfig:
    """Where the deploy tool posts its annotations; the token comes from the environment."""

    url: str = ""
    token_env: str = "GRAFANA_TOKEN"  # noqa: S105 # the name of a variable, not a secret


@dataclass(frozen=True)
class Config:
    path: Path
    host: HostConfig
    registry: RegistryConfig
    app: AppConfig
    gate: GateConfig
    provision: ProvisionConfig
    grafana: GrafanaConfig | None = None
    swarm: SwarmConfig = field(default_factory=SwarmConfig)
    ssh: SshConfig = field(default_factory=SshConfig)
    deploy: DeploySettings = field(default_factory=DeploySettings)


def _section(raw: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise DeployError(f"{path}: missing table [{name}]")
    return value


def _build(cls: Any, raw: dict[str, Any], name: str, path: Path, **extra: Any) -> Any:
    try:
        return cls(**raw, **extra)
    except TypeError as error:
        raise DeployError(f"{path}: [{name}]: {error}") from error


def _relative(base: Path, value: Any) -> Path:
    candidate = Path(str(value)).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def parse_config(text: str, path: Path) -> Config:
    """Parse and check a configuration; relative paths are relative to the file's directory."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DeployError(f"{path}: {error}") from error
    host = _host(_section(raw, "host", path), path)
    registry = _registry(_section(raw, "registry", path), path)
    app = _app(_section(raw, "app", path), path)
    gate = _gate(raw.get("gate", {}), path)
    provision: ProvisionConfig = _build(
        ProvisionConfig, dict(raw.get("provision", {})), "provision", path
    )
    grafana = _grafana(raw["grafana"], path) if "grafana" in raw else None
    swarm = _swarm(raw.get("swarm", {}), path)
    ssh = _ssh(raw.get("ssh", {}), path)
    deploy = _deploy(raw.get("deploy", {}), path)
    known = {"host", "registry", "app", "gate", "provision", "grafana", "swarm", "ssh", "deploy"}
    unknown = set(raw) - known
    if unknown:
        raise DeployError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    return Config(path, host, registry, app, gate, provision, grafana, swarm, ssh, deploy)


def _host(raw: dict[str, Any], path: Path) -> HostConfig:
    host_raw = dict(raw)
    for key in ("identity_file", "known_hosts", "provision_identity_file"):
        if key in host_raw:
            host_raw[key] = _relative(path.parent, host_raw[key])
    host: HostConfig = _build(HostConfig, host_raw, "host", path)
    shell_values.check(path, "[host] user", host.user, shell_values.USER, "a login like deploy")
    return host


def _registry(raw: dict[str, Any], path: Path) -> RegistryConfig:
    registry_raw = dict(raw)
    if "pull_password_file" in registry_raw:
        registry_raw["pull_password_file"] = _relative(
            path.parent, registry_raw["pull_password_file"]
        )
    registry: RegistryConfig = _build(RegistryConfig, registry_raw, "registry", path)
    if not _IMAGE_PREFIX.match(registry.image_prefix):
        raise DeployError(
            f"{path}: [registry] image_prefix {registry.image_prefix!r} is not registry/namespace"
        )
    if registry.pull_username and registry.pull_password_file is None:
        raise DeployError(f"{path}: [registry] pull_username needs pull_password_file")
    return registry


def _app(raw: dict[str, Any], path: Path) -> AppConfig:
    app: AppConfig = _build(AppConfig, dict(raw), "app", path)
    if not app.remote_dir.startswith("/"):
        raise DeployError(f"{path}: [app] remote_dir must be an absolute path")
    shell_values.check(
        path, "[app] remote_dir", app.remote_dir, shell_values.REMOTE_DIR, "a path like /srv/app"
    )
    shell_values.check(
        path, "[app] environment", app.environment, _STACK_NAME, "a name like production"
    )
    if app.keep_releases < 1:
        raise DeployError(f"{path}: [app] keep_releases must be at least 1")
    return app


def _grafana(raw: dict[str, Any], path: Path) -> GrafanaConfig:
    grafana: GrafanaConfig = _build(GrafanaConfig, dict(raw), "grafana", path)
    if grafana.url and not grafana.url.startswith(("http://", "https://")):
        raise DeployError(f"{path}: [grafana] url must start with http:// or https://")
    return grafana


def _swarm(raw: dict[str, Any], path: Path) -> SwarmConfig:
    swarm: SwarmConfig = _build(SwarmConfig, dict(raw), "swarm", path)
    if not _STACK_NAME.match(swarm.stack):
        raise DeployError(f"{path}: [swarm] stack {swarm.stack!r} is not a stack name")
    for key, value in swarm.settings.items():
        if not _SETTING.match(key) or not isinstance(value, str):
            raise DeployError(
                f"{path}: [swarm.settings] {key} must be an UPPER_CASE name with a string value"
            )
        if key in _SECRET_SETTINGS:
            raise DeployError(
                f"{path}: [swarm.settings] {key} is a secret: init-swarm makes it a Swarm secret"
            )
    if "REDIS_MAXMEMORY" in swarm.settings:
        shell_values.check(
            path,
            "[swarm.settings] REDIS_MAXMEMORY",
            swarm.settings["REDIS_MAXMEMORY"],
            shell_values.REDIS_MAXMEMORY,
            "a size like 200mb",
        )
    return swarm


def _ssh(raw: dict[str, Any], path: Path) -> SshConfig:
    ssh: SshConfig = _build(SshConfig, dict(raw), "ssh", path)
    if min(ssh.keepalive_s, ssh.lost_after_s, ssh.connect_timeout_s, ssh.command_timeout_s) < 1:
        raise DeployError(f"{path}: [ssh] every timeout must be at least 1 s")
    if ssh.keepalive_s >= ssh.lost_after_s:
        raise DeployError(f"{path}: [ssh] keepalive_s must be shorter than lost_after_s")
    return ssh


def _deploy(raw: dict[str, Any], path: Path) -> DeploySettings:
    settings: DeploySettings = _build(DeploySettings, dict(raw), "deploy", path)
    if settings.strategy not in STRATEGIES:
        raise DeployError(f"{path}: [deploy] strategy must be one of {', '.join(STRATEGIES)}")
    steps = settings.steps
    if (
        not steps
        or steps[-1] != 100
        or any(not isinstance(s, int) or s < 1 for s in steps)
        or sorted(set(steps)) != steps
    ):
        raise DeployError(f"{path}: [deploy] steps must rise from 1 to 100 (%), like [10, 50, 100]")
    if settings.min_requests < 1:
        raise DeployError(f"{path}: [deploy] min_requests must be at least 1")
    if settings.on_inconclusive not in ON_INCONCLUSIVE:
        raise DeployError(
            f"{path}: [deploy] on_inconclusive must be one of {', '.join(ON_INCONCLUSIVE)}"
        )
    try:
        settings.step_max_wait_s  # noqa: B018 # checked now, not mid-deploy
    except SpecError as error:
        raise DeployError(f"{path}: [deploy] {error}") from error
    return settings


def _gate(raw: dict[str, Any], path: Path) -> GateConfig:
    spec_gate = load_spec().deploy_gate
    merged = {
        "window": spec_gate.window,
        "min_requests": spec_gate.min_requests,
        "max_wait": spec_gate.max_wait,
    }
    merged.update(raw)
    gate: GateConfig = _build(GateConfig, merged, "gate", path)
    try:
        if gate.window_s > gate.max_wait_s:
            raise DeployError(f"{path}: [gate] window must not be longer than max_wait")
    except SpecError as error:
        raise DeployError(f"{path}: [gate] {error}") from error
    if gate.min_requests < 1:
        raise DeployError(f"{path}: [gate] min_requests must be at least 1")
    return gate


def load_config(path: Path) -> Config:
    try:
        text = path.read_text()
    except OSError as error:
        raise DeployError(f"cannot read the configuration {path}: {error.strerror}") from error
    return parse_config(text, path.resolve())
