"""The Redis Lua scripts of web and worker, kept as .lua files in linkpulse/lua/.

Files rather than Python strings, so editors and a check (tests/integration/test_lua_scripts.py
loads every one into a real redis-server) see them as Lua. Each file's header says what it
takes in KEYS and ARGV; every key and field name comes from linkpulse.contract through those.
They are package data: the wheel and the app image carry them next to this module.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

CREATE_LINK = "create_link"
RESOLVE_AND_RECORD = "resolve_and_record"
APPLY_BATCH = "apply_batch"
REMOVE_IDLE_CONSUMER = "remove_idle_consumer"
DEAD_LETTER = "dead_letter"


def _lua_dir() -> Traversable:
    return files("linkpulse") / "lua"


def load(name: str) -> str:
    """The source of linkpulse/lua/<name>.lua."""
    return (_lua_dir() / f"{name}.lua").read_text(encoding="utf-8")


def all_names() -> list[str]:
    """Every script in linkpulse/lua/, by name."""
    return sorted(
        entry.name.removesuffix(".lua")
        for entry in _lua_dir().iterdir()
        if entry.name.endswith(".lua")
    )
