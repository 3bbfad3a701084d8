"""The command line: one verb per command; a failure the tool knows is one line and exit status 1
(usage errors, Ctrl-C and bugs end otherwise: docs/deploy.md lists how)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from deploy import (
    canary_resume,
    exec_in,
    logs,
    ps,
    redis_backup,
    redis_upgrade,
    swarm_rotation,
    tunnel,
)
from deploy import status as status_module
from deploy.alert_route import alert_route
from deploy.config import STRATEGIES, Config, load_config
from deploy.deployer import Deployer, remote_for
from deploy.errors import DeployError
from deploy.history import History, format_table
from deploy.layout import Layout
from deploy.lock import DeployLock, describe_lock
from deploy.outcome import read_kept
from deploy.paging import remote_test_alert
from deploy.plan import service_images
from deploy.provision import provision as run_provision
from deploy.release import release as run_release
from deploy.rotate_vm import VmRotation, check_rotatable
from deploy.source import check_sha, compose_config
from deploy.stages import Stages, format_duration
from deploy.supplied_secrets import SUPPLIED, read_new_value, rotate_supplied
from deploy.swarm_deployer import SwarmTarget
from deploy.swarm_init import init_swarm as run_init_swarm
from deploy.swarm_join import ROLES, join_swarm
from deploy.swarm_redis import SwarmRedis
from deploy.target import TargetKind
from deploy.vm_target import VmTarget

DEFAULT_CONFIG = "deploy.toml"


TARGETS: dict[str, TargetKind] = {"vm": VmTarget, "swarm": SwarmTarget}


class Context:
    def __init__(self, config_path: Path, target: str) -> None:
        self.config_path = config_path
        self.target = target
        self.stages = Stages()

    def config(self) -> Config:
        return load_config(self.config_path)

    def layout(self, config: Config) -> Layout:
        return TARGETS[self.target].target_layout(config)


pass_context = click.make_pass_decorator(Context)
# The git checkout a release is built from, or a deploy reads its compose file and config from.
source_option = click.option(
    "--source", type=click.Path(path_type=Path, file_okay=False), default=".", show_default=True
)
# Where a failed deploy's bundle is copied on this machine (CI uploads it as an artifact).
bundle_dir_option = click.option(
    "--bundle-dir",
    type=click.Path(path_type=Path),
    default="build/deploy-bundles",
    show_default=True,
)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("DEPLOY_CONFIG", DEFAULT_CONFIG),
    show_default="$DEPLOY_CONFIG or deploy.toml",
    help="The deploy configuration (deploy/example.toml documents it).",
)
@click.option(
    "--target",
    type=click.Choice(sorted(TARGETS)),
    default=lambda: os.environ.get("DEPLOY_TARGET", "vm"),
    show_default="$DEPLOY_TARGET or vm",
    help="vm: compose on one VM; swarm: a stack on the Swarm manager [host] names.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path, target: str) -> None:
    """Release linkpulse's images by git sha and ship them to a VM with zero downtime."""
    ctx.obj = Context(config_path, target)


@cli.command()
@source_option
@click.option("--allow-dirty", is_flag=True, help="Release a checkout with uncommitted changes.")
@click.option("--image-prefix", default="", help="registry/namespace; default: the config's.")
@click.option(
    "--bake",
    is_flag=True,
    help="CI: docker buildx bake for linux/amd64 and linux/arm64 (one index per image), with "
    "cache, SBOM and provenance; without it, the host's platform only.",
)
@pass_context
def release(
    context: Context, source: Path, allow_dirty: bool, image_prefix: str, bake: bool
) -> None:
    """Build every image at the checkout's sha, push it, mirror upstream images."""
    prefix = image_prefix or context.config().registry.image_prefix
    report = run_release(source, prefix, context.stages, allow_dirty=allow_dirty, bake=bake)
    click.echo(f"released {report.sha}: {len(report.pushed)} image tags pushed")
    for image, reason in report.left_out.items():
        click.echo(f"left out of this release: {image} ({reason[:120]})")


@cli.command()
@click.argument("sha")
@source_option
@click.option("--image-prefix", default="", help="registry/namespace; default: the config's.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of one per line.")
@pass_context
def images(context: Context, sha: str, source: Path, image_prefix: str, as_json: bool) -> None:
    """Print every image release SHA runs, built and mirrored (what CI scans before a deploy)."""
    prefix = image_prefix or context.config().registry.image_prefix
    config = compose_config(source.resolve() / "docker-compose.yml", prefix, check_sha(sha))
    refs = {item.image for item in service_images(config, prefix)}
    click.echo(json.dumps(sorted(refs)) if as_json else "\n".join(sorted(refs)))


@cli.command()
@source_option
@pass_context
def provision(context: Context, source: Path) -> None:
    """Prepare a fresh Debian VM: engine, deploy user, directories, secrets."""
    run_provision(context.config(), source.resolve(), context.stages)
    click.echo("provisioned")


@cli.command(name="init-swarm")
@pass_context
def init_swarm(context: Context) -> None:
    """Make the provisioned VM a Swarm manager: swarm mode, node label, Swarm secrets."""
    config = context.config()
    with remote_for(config) as remote:
        run_init_swarm(config, remote, context.stages)
    click.echo("swarm ready: deploy with --target swarm")


@cli.command()
@click.argument("address")
@click.option("--role", type=click.Choice(ROLES), default="manager", show_default=True)
@pass_context
def join(context: Context, address: str, role: str) -> None:
    """Join the provisioned VM at ADDRESS (same SSH user, key and known_hosts as [host]) to the
    swarm of [host]."""
    config = context.config()
    node = replace(config, host=replace(config.host, address=address))
    with remote_for(config) as manager, remote_for(node) as joining:
        join_swarm(config, manager, joining, role, context.stages)
    click.echo(f"{address} is in the swarm: docs/scaling.md says how replicas reach it")


def _deployer(context: Context, bundle_dir: Path, strategy: str | None = None) -> Deployer:
    config = context.config()
    if strategy is not None:
        config = replace(config, deploy=replace(config.deploy, strategy=strategy))
    kind = TARGETS[context.target]
    return Deployer(config, remote_for(config), context.stages, bundle_dir, kind)


@cli.command()
@click.argument("sha")
@source_option
@bundle_dir_option
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default=None,
    help="canary: a share of requests in steps, judged against the old version; "
    "all-at-once: switch, then the SLO check.  [default: the config's [deploy] strategy]",
)
@pass_context
def deploy(
    context: Context, sha: str, source: Path, bundle_dir: Path, strategy: str | None
) -> None:
    """Ship release SHA; roll back automatically if it fails its checks."""
    started = datetime.now(UTC)
    deployer = _deployer(context, bundle_dir, strategy)
    try:
        deployer.deploy(source.resolve(), sha)
    finally:
        deployer.remote.close()
    took = (datetime.now(UTC) - started).total_seconds()
    click.echo(f"deployed {sha} in {format_duration(took)}")


@cli.command()
@click.argument("sha", required=False)
@bundle_dir_option
@pass_context
def rollback(context: Context, sha: str | None, bundle_dir: Path) -> None:
    """Switch back to SHA, or by default to the last release that passed its checks."""
    started = datetime.now(UTC)
    deployer = _deployer(context, bundle_dir)
    try:
        target = deployer.rollback(sha)
    finally:
        deployer.remote.close()
    took = (datetime.now(UTC) - started).total_seconds()
    click.echo(f"rolled back to {target} in {format_duration(took)}")


@cli.command()
@bundle_dir_option
@pass_context
def promote(context: Context, bundle_dir: Path) -> None:
    """Continue a canary paused on an inconclusive step: its remaining steps, judged."""
    click.echo(f"promoted {_end_paused(context, bundle_dir, canary_resume.promote)}")


@cli.command()
@bundle_dir_option
@pass_context
def abort(context: Context, bundle_dir: Path) -> None:
    """End a canary paused on an inconclusive step: every request back to the old web."""
    serving = _end_paused(context, bundle_dir, canary_resume.abort)
    click.echo(f"aborted the paused canary: {serving} serves every request")


def _end_paused(context: Context, bundle_dir: Path, end: Callable[[Deployer], str]) -> str:
    deployer = _deployer(context, bundle_dir)
    try:
        return end(deployer)
    finally:
        deployer.remote.close()


@cli.command(name="rotate-secret")
@click.argument("name")
@bundle_dir_option
@pass_context
def rotate_secret(context: Context, name: str, bundle_dir: Path) -> None:
    """Rotate secret NAME on the VM or Swarm with zero failed requests (docs/operations.md);
    REGISTRY_PASSWORD and ALERT_RECEIVER_KEY take the new value on stdin."""
    check_rotatable(name)
    if name in SUPPLIED:
        new = read_new_value(name, sys.stdin)
        deployer = _deployer(context, bundle_dir)
        try:
            rotate_supplied(deployer, name, new, context.target)
        finally:
            deployer.remote.close()
        click.echo(f"rotated {name}")
        return
    if context.target == "swarm":
        swarm_rotation.rotate(context.config(), name, click.echo)
        click.echo(f"rotated {name}")
        return
    deployer = _deployer(context, bundle_dir)
    try:
        VmRotation(deployer, name).run()
    finally:
        deployer.remote.close()
    click.echo(f"rotated {name}")


@cli.command()
@pass_context
def status(context: Context) -> None:
    """What runs on the VM, which version, healthy or not."""
    config = context.config()
    with remote_for(config) as remote:
        if context.target == "swarm":
            click.echo(status_module.swarm_report(config, remote))
        else:
            click.echo(status_module.report(config, remote))
        click.echo(alert_route(remote, context.target, config.swarm.stack))


@cli.command(name="test-alert")
@pass_context
def test_alert(context: Context) -> None:
    """Send a test notification through the real alert route; exit 1 unless it was delivered."""
    config = context.config()
    with remote_for(config) as remote:
        click.echo(remote_test_alert(remote, context.target, config.swarm.stack))


@cli.command()
@pass_context
def history(context: Context) -> None:
    """The VM's release history: sha, time, who, outcome, duration."""
    config = context.config()
    with remote_for(config) as remote:
        click.echo(format_table(History(remote, context.layout(config).root).read()))


def _redis_host(context: Context, config: Config) -> redis_backup.HostFactory:
    if context.target == "swarm":
        return lambda remote, _layout: SwarmRedis(remote, config.swarm.stack)
    return redis_backup.VmRedis


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default="backups")
@pass_context
def backup(context: Context, directory: Path) -> None:
    """Snapshot Redis on the VM or Swarm (an RDB from BGSAVE) into DIR here, with its sha256."""
    config = context.config()
    host = _redis_host(context, config)
    click.echo(redis_backup.backup(remote_for(config), context.layout(config), directory, host))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a Redis that holds data.")
@pass_context
def restore(context: Context, file: Path, force: bool) -> None:
    """Replace Redis on the VM or Swarm with the backup FILE (sha256 checked first)."""
    config = context.config()
    layout, host = context.layout(config), _redis_host(context, config)
    held = redis_backup.restore(remote_for(config), layout, file, force=force, host=host)
    click.echo(f"restored {file}: {held.describe()}")


@cli.group()
def lock() -> None:
    """The deploy lock on the VM."""


@lock.command(name="status")
@pass_context
def lock_status(context: Context) -> None:
    """Who holds the lock, from where, since when; STALE when its holder is gone."""
    config = context.config()
    with remote_for(config) as remote:
        deploy_lock = DeployLock(remote, context.layout(config).root)
        state = deploy_lock.state(datetime.now(UTC))
        click.echo("\n".join(describe_lock(state)))
        kept = read_kept(remote, deploy_lock.path) if state is not None else None
        if kept is not None:
            click.echo(kept.describe())


@lock.command(name="release")
@click.option("--force", is_flag=True, help="Release it even though its holder may still run.")
@pass_context
def lock_release(context: Context, force: bool) -> None:
    """Release a lock left by a killed deploy (a live holder's only with --force)."""
    config = context.config()
    with remote_for(config) as remote:
        deploy_lock = DeployLock(remote, context.layout(config).root)
        state = deploy_lock.state(datetime.now(UTC))
        if state is None:
            click.echo("lock was free")
            return
        kept = read_kept(remote, deploy_lock.path)
        if kept is not None and kept.paused and not force:
            raise DeployError(
                f"{kept.describe()}: releasing the lock would leave both webs serving, "
                "refusing (`lock release --force` if you mean it)"
            )
        if not state.stale and not force:
            raise DeployError(
                f"deploy lock is {describe_lock(state)[0]}: its holder may still run, refusing "
                "(`lock release --force` if you know it is dead)"
            )
        deploy_lock.release()
        click.echo(f"released the lock ({'; '.join(describe_lock(state))})")


# Operator verbs for runbooks (docs/operations.md): each in its own module.
for verb in (logs.logs, exec_in.exec_command, ps.ps, tunnel.tunnel, redis_upgrade.upgrade_redis):
    cli.add_command(verb)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except DeployError as error:
        click.echo(f"deploy: error: {error}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("deploy: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
