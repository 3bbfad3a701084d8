"""`logs SERVICE`: one service's logs from every container (VM) or task (Swarm) that runs it.

`--grep` filters on this machine, line by line, so the command on the host stays one argv with
no shell pipeline in it (and a pattern needs no quoting for a remote shell).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from deploy.commands import PROJECT
from deploy.containers import SWARM, check_service, echo_chunk, swarm_service
from deploy.deployer import remote_for
from deploy.errors import DeployError

if TYPE_CHECKING:
    from deploy.cli import Context

# `docker service logs` can wait for ever on a task that is gone (as in a failure bundle):
# bounded on the host unless the operator follows on purpose.
SWARM_LOGS_TIMEOUT_S = 60


@dataclass(frozen=True)
class LogOptions:
    since: str = "10m"  # what `docker logs --since` takes: 10m, 1h, an RFC 3339 time
    tail: str = "all"
    follow: bool = False


def logs_argv(target: str, stack: str, service: str, options: LogOptions) -> list[str]:
    common = ["--timestamps", "--since", options.since, "--tail", options.tail]
    if options.follow:
        common.append("--follow")
    if target == SWARM:
        argv = ["docker", "service", "logs", "--no-trunc", *common, swarm_service(stack, service)]
        return argv if options.follow else ["timeout", str(SWARM_LOGS_TIMEOUT_S), *argv]
    # Compose prefixes each line with its container (web-3 | ...): a rollout runs several.
    return ["docker", "compose", "-p", PROJECT, "logs", "--no-color", *common, service]


class LineFilter:
    """Passes on the complete lines PATTERN (a Python regex) finds something in; output arrives
    in chunks, so a partial line waits for its end (or for finish())."""

    def __init__(self, pattern: str, write: Callable[[str], None]) -> None:
        try:
            self._wanted = re.compile(pattern)
        except re.error as error:
            raise DeployError(f"--grep {pattern!r} is not a regular expression: {error}") from error
        self._write = write
        self._pending = ""

    def feed(self, chunk: str) -> None:
        *lines, self._pending = (self._pending + chunk).split("\n")
        for line in lines:
            self._pass(line)

    def finish(self) -> None:
        if self._pending:
            self._pass(self._pending)
            self._pending = ""

    def _pass(self, line: str) -> None:
        line = line.rstrip("\r")  # a terminal on the host (--follow) ends lines with CR LF
        if self._wanted.search(line):
            self._write(line + "\n")


@click.command()
@click.argument("service")
@click.option("--since", default=LogOptions.since, show_default=True, help="10m, 2h, or a time.")
@click.option("--tail", default=LogOptions.tail, show_default=True, help="Lines per container.")
@click.option("--grep", "pattern", help="Only lines this Python regex finds something in.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.pass_obj
def logs(
    context: Context, service: str, *, since: str, tail: str, pattern: str | None, follow: bool
) -> None:
    """SERVICE's logs from the VM, or from every task of it on Swarm."""
    check_service(service)
    sink = LineFilter(pattern, echo_chunk) if pattern is not None else None
    config = context.config()
    argv = logs_argv(context.target, config.swarm.stack, service, LogOptions(since, tail, follow))
    with remote_for(config) as remote:
        try:
            status = remote.stream(argv, sink.feed if sink else echo_chunk, pty=follow)
        except KeyboardInterrupt:
            if not follow:
                raise
            status = 0  # how --follow ends
        if sink:
            sink.finish()
    if status:
        raise SystemExit(status)
