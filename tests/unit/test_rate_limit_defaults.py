"""nginx's rate-limit defaults live in nginx/render-limits.sh; the copies people read must agree.

The script's `rate NAME default` and `count NAME default` calls are the defaults nginx runs
with. .env.example (which `make up` copies into .env), docs/configuration.md's table and
SECURITY.md's write rate repeat them as text, and compose passes an unset setting as empty so
that it holds no default of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OWNER = "nginx/render-limits.sh"
# write_rate=$(rate RATE_LIMIT_WRITE 20r/s)
_DEFAULT_CALL = re.compile(r"^\w+=\$\((?:rate|count) (RATE_LIMIT_\w+) (\S+)\)$", re.MULTILINE)


def _text(path: str) -> str:
    return (REPO_ROOT / path).read_text()


def rendered_defaults() -> dict[str, str]:
    defaults = dict(_DEFAULT_CALL.findall(_text(OWNER)))
    assert defaults, f"{OWNER}: no `name=$(rate|count RATE_LIMIT_X default)` line found"
    return defaults


def test_the_script_has_a_default_for_each_rate_and_burst() -> None:
    budgets = ("WRITE", "READ", "PAGES")
    expected = {f"RATE_LIMIT_{b}{suffix}" for b in budgets for suffix in ("", "_BURST")}
    assert set(rendered_defaults()) == expected


def test_env_example_shows_the_scripts_defaults() -> None:
    shown = dict(re.findall(r"^(RATE_LIMIT_\w+)=(.*)$", _text(".env.example"), re.MULTILINE))
    for name, default in rendered_defaults().items():
        assert shown.get(name) == default, (
            f".env.example: {name}={shown.get(name)} but {OWNER} defaults to {default}"
        )


def test_configuration_docs_show_the_scripts_defaults() -> None:
    documented: dict[str, str] = {}
    for row in re.findall(r"^\| (`RATE_LIMIT_.*)$", _text("docs/configuration.md"), re.M):
        names_cell, values_cell = row.split(" | ")[:2]
        names = re.findall(r"`(RATE_LIMIT_\w+)`", names_cell)
        values = re.findall(r"`([^`]*)`", values_cell)
        documented.update(zip(names, values, strict=False))
    for name, default in rendered_defaults().items():
        assert documented.get(name) == default, (
            f"docs/configuration.md: {name} documented as {documented.get(name)}, "
            f"but {OWNER} defaults to {default}"
        )


def test_security_policy_states_the_scripts_write_rate() -> None:
    stated = re.search(r"`api_write` (\d+)/(s|m)\b", _text("SECURITY.md"))
    assert stated is not None, "SECURITY.md no longer states api_write's rate as `api_write` N/s"
    rate = f"{stated.group(1)}r/{stated.group(2)}"
    default = rendered_defaults()["RATE_LIMIT_WRITE"]
    assert rate == default, f"SECURITY.md: api_write {rate}, but {OWNER} defaults to {default}"


def test_compose_leaves_the_defaults_to_the_script() -> None:
    passed = dict(re.findall(r"^\s+(RATE_LIMIT_\w+): (.*)$", _text("docker-compose.yml"), re.M))
    for name in rendered_defaults():
        assert passed.get(name) == f"${{{name}:-}}", (
            f"docker-compose.yml: pass {name} as ${{{name}:-}} (unset: {OWNER}'s default)"
        )
