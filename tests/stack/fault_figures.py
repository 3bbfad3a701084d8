"""What a fault measures itself, where the fault tier's traffic sees too little of it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultFigures:
    """Returned by a fault of tests/stack/faults.py that measures more than its traffic shows.

    `alerts` were pending or firing while the fault lasted (the tier otherwise looks only
    afterwards); `recovery_s` replaces "to the last failed request" for a fault whose traffic
    does not fail; `details` go into the fault's figures as they are.
    """

    alerts: frozenset[str]
    recovery_s: float
    details: dict[str, float | int] = field(default_factory=dict)
