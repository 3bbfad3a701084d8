"""The runbooks' VM commands, run as written against the rehearsal's VM (issue 17).

Every `python -m deploy ...` line of docs/runbooks/ is a read-only check an operator copies
during an incident: each must run on a deployed VM, not only in a `make up` checkout (which
tests/stack/test_runbooks.py covers). What follows a pipe runs on the operator's machine, so
the verb alone is run here. `status` must say that a fresh deploy pages nobody.
"""

from __future__ import annotations

import itertools
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

PREFIX = "python -m deploy "
# A runbook's placeholder, and the service that stands for it here.
PLACEHOLDER = ("<service>", "web")
FRESH_DEPLOY_ALERTS = "alerts go to the in-memory alert sink: nobody is paged"
# redis-cli exits 0 after an error reply: a refused password shows in its output only.
REFUSED_PASSWORD = ("NOAUTH", "WRONGPASS")


def vm_commands(runbooks: Path) -> list[tuple[str, list[str]]]:
    """(runbook, verb argv) for each `python -m deploy` line; a trailing comment and whatever
    follows a pipe outside quotes are left out."""
    commands = []
    for runbook in sorted(runbooks.glob("*.md")):
        for raw in runbook.read_text().splitlines():
            line = raw.strip()
            if not line.startswith(PREFIX):
                continue
            lexer = shlex.shlex(line.replace(*PLACEHOLDER), posix=True, punctuation_chars="|")
            lexer.whitespace_split = True
            words = list(itertools.takewhile(lambda word: word != "|", lexer))
            commands.append((runbook.stem, words[len(PREFIX.split()) :]))
    return commands


def run(runner: Runner) -> None:
    failed: dict[str, str] = {}
    took: dict[str, float] = {}
    # Runbooks share checks (redis-cli INFO memory, ...): each distinct command runs once.
    distinct = {" ".join(argv): argv for _, argv in vm_commands(runner.repo / "docs" / "runbooks")}
    for line, argv in distinct.items():
        started = time.monotonic()
        result = runner.tool(*argv)
        took[line] = round(time.monotonic() - started, 2)
        refused = any(word in result.stdout for word in REFUSED_PASSWORD)
        if result.returncode != 0 or refused:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()
            failed[line] = said[-1] if said else f"exit {result.returncode}"
    runner.summary.notes["runbook_verbs_seconds"] = took
    runner.summary.notes["runbook_verbs_failed"] = failed
    runner.summary.check(
        f"runbooks: each of their {len(took)} distinct VM commands runs against the VM",
        not failed,
    )
    status = runner.tool("status")
    runner.summary.check(
        "status says that a fresh deploy pages nobody", FRESH_DEPLOY_ALERTS in status.stdout
    )
