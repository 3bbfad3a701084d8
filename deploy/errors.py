"""The one error type of the tool: its message is the single line the operator reads."""

from __future__ import annotations


class DeployError(Exception):
    """A failure that the CLI reports as one line and a non-zero exit status."""


class PrometheusUnavailableError(DeployError):
    """A reading that could not be taken: Prometheus was restarting, replaying its WAL or out of
    reach. The SLO check waits for it (up to its max_wait) instead of failing a release on it."""
