"""The one error type of the tool: its message is the single line the operator reads."""

from __future__ import annotations


class DeployError(Exception):
    """A failure that the CLI reports as one line and a non-zero exit status."""
