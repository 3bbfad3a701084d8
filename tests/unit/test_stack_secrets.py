"""The stack's secrets are named once, in deploy/source.py; every other list of them must agree.

docker-compose.yml refuses to start without them, `make up` (scripts/stack-env.sh) and
`provision` generate them, .env.example leaves them empty, and init-swarm turns them into the
Swarm secrets docker-compose.swarm.yml declares.
"""

from __future__ import annotations

import re
from pathlib import Path

from deploy import swarm_init
from deploy.source import SECRETS

REPO_ROOT = Path(__file__).resolve().parents[2]
OWNER = "deploy/source.py SECRETS"


def _text(path: str) -> str:
    return (REPO_ROOT / path).read_text()


def test_compose_requires_exactly_the_secrets() -> None:
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", _text("docker-compose.yml")))
    assert required == set(SECRETS), f"docker-compose.yml requires {sorted(required)}; {OWNER}"


def test_env_example_lists_the_secrets_in_its_secrets_section() -> None:
    section = _text(".env.example").split("# --- Secrets", 1)[1].split("# ---", 1)[0]
    listed = re.findall(r"^([A-Z][A-Z0-9_]*)=$", section, re.MULTILINE)
    assert listed == list(SECRETS), f".env.example's secrets section lists {listed}; {OWNER}"


def test_make_up_generates_the_secrets() -> None:
    loop = re.search(r"^\s*for secret in ([A-Z0-9_ ]+); do$", _text("scripts/stack-env.sh"), re.M)
    assert loop is not None, "scripts/stack-env.sh: no `for secret in ...; do` loop found"
    generated = loop.group(1).split()
    assert generated == list(SECRETS), f"scripts/stack-env.sh generates {generated}; {OWNER}"


def test_init_swarm_makes_the_swarm_secrets_the_swarm_stack_declares() -> None:
    section = _text("docker-compose.swarm.yml").split("\nsecrets:\n", 1)[1]
    declared = set(re.findall(r"^  ([a-z0-9_]+):$", section, re.MULTILINE))
    assert declared == set(swarm_init.SECRETS), (
        f"docker-compose.swarm.yml declares {sorted(declared)}, "
        f"init-swarm makes {sorted(swarm_init.SECRETS)}"
    )
