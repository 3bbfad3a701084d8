"""Every stage printed as it starts and as it ends, with its duration (Kamal's style)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import click

from deploy.errors import ConnectionLostError


def format_duration(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


@dataclass
class Stages:
    """Prints stages and keeps their durations, so a run's summary can list them."""

    echo: Callable[[str], None] = click.echo
    durations: list[tuple[str, float]] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    # The innermost stage the last failure escaped from: history and the kept lock name it.
    failed: str = ""

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.echo(f"==> {name}")
        self.failed = ""
        started = self.clock()
        try:
            yield
        except BaseException as error:
            self.failed = self.failed or name
            if isinstance(error, ConnectionLostError) and not error.stage:
                error.stage = name  # the innermost stage: the step that never finished
            elapsed = self.clock() - started
            self.durations.append((name, elapsed))
            self.echo(f"    {name}: FAILED after {format_duration(elapsed)}")
            raise
        elapsed = self.clock() - started
        self.durations.append((name, elapsed))
        self.echo(f"    {name}: done in {format_duration(elapsed)}")

    def note(self, text: str) -> None:
        self.echo(f"    {text}")
