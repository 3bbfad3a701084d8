"""How much of the rehearsal runs: `full` (`make test-rehearsal`, `make rehearse`: the default) or
`test` (`make test`, REHEARSAL_PROFILE=test), which leaves out steps another part of `make test`
already covers, to keep it within its time budget: Swarm's C and D (a broken image rolled back by
Swarm, an SLO rollback: the VM part and the swarm tiers have both) and the quiet deploy of D (the
quiet first deploy of A stays). REHEARSAL_DRILLS and REHEARSAL_CANARIES choose the drills and
canaries apart (rehearsal/drills.py, canary_part.py)."""

from __future__ import annotations

import os

ENV = "REHEARSAL_PROFILE"


def full() -> bool:
    return os.environ.get(ENV, "full") != "test"
