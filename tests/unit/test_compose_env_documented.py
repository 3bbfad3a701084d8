"""Every variable docker-compose.yml reads is documented in .env.example (the upstream images'
in docker/upstream-images.env), and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# ${NAME}, ${NAME:-default}, ${NAME:?message}; $$NAME is a literal for the container's shell.
INTERPOLATED = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
# Documented: set (NAME=value) or shown commented out (#NAME=value).
DOCUMENTED = re.compile(r"^#?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# Read by compose itself, or by the Makefile and scripts, rather than interpolated.
NOT_INTERPOLATED = {"COMPOSE_FILE"}


def _interpolated() -> set[str]:
    return set(INTERPOLATED.findall((REPO_ROOT / "docker-compose.yml").read_text()))


def _documented() -> set[str]:
    # The upstream images' variables are documented (and pinned) in their own file.
    files = [REPO_ROOT / ".env.example", REPO_ROOT / "docker" / "upstream-images.env"]
    return {name for path in files for name in DOCUMENTED.findall(path.read_text())}


def test_every_compose_variable_is_documented_in_env_example() -> None:
    assert _interpolated() - _documented() == set()


def test_env_example_documents_only_variables_the_stack_reads() -> None:
    assert _documented() - _interpolated() - NOT_INTERPOLATED == set()
