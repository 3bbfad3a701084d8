"""SIGINT and SIGTERM as an exception in the main thread, so a CI cancel (SIGTERM, or SIGINT
first on GitHub Actions) takes the same path as Ctrl-C: the deploy's failure handling rolls back
and records, instead of the process dying half-switched with the lock released by `finally`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A KeyboardInterrupt for either signal: libraries' `except Exception` cannot swallow it,
    and before anything changed it ends the command as Ctrl-C does (`deploy: aborted`, 130)."""

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.signal_name}")


class Interrupts:
    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self._shielded = 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._shielded:
            # Half a history line or a missing bundle would lose the very record this writes.
            self.note(f"{name} received while recording the outcome: finishing the record first")
            return
        raise Interrupted(signum)

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Inside: SIGINT and SIGTERM raise Interrupted; the previous handlers come back after."""
        if threading.current_thread() is not threading.main_thread():
            yield  # Python delivers signals to the main thread only; nothing to install here
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Inside: a signal is noted, not raised (for writing history, bundle and lock reason)."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1
