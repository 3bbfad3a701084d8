"""The one error type of the tool: its message is the single line the operator reads."""

from __future__ import annotations


class DeployError(Exception):
    """A failure that the CLI reports as one line and a non-zero exit status."""


class PrometheusUnavailableError(DeployError):
    """A reading that could not be taken: Prometheus was restarting, replaying its WAL or out of
    reach. The SLO check waits for it (up to its max_wait) instead of failing a release on it."""


class ConnectionLostError(DeployError):
    """The VM stopped answering: the SSH connection died, or a command outlived its timeout.
    The stage it happened in is filled in by the stage (deploy/stages.py) it escapes from, so
    the one line says how far the deploy got."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.stage = ""

    def first(self) -> ConnectionLostError:
        """The loss that started it: cleanups (a rollback, the lock's release) that meet the
        same dead connection raise again while handling it, outside the stage that failed."""
        first = self
        cause = self.__context__
        while cause is not None:
            if isinstance(cause, ConnectionLostError) and cause.stage:
                first = cause
            cause = cause.__context__
        return first

    def __str__(self) -> str:
        first = self.first()
        where = f" during '{first.stage}'" if first.stage else ""
        return f"lost the VM{where}: {first.detail}"
