"""Configuration from environment variables, validated once at start-up.

A service declares its settings as a pydantic model whose field aliases are the
environment variable names; `load_settings` turns the first problem into one line
that names the variable, which is what an operator reading a crash log needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, NoReturn, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _redis_scheme(value: str) -> str:
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("must be a redis://, rediss:// or unix:// URL")
    return value


# The setting types both services share, so LOG_LEVEL and REDIS_URL take and refuse the same.
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]
RedisUrl = Annotated[str, AfterValidator(_redis_scheme)]


class ConfigError(Exception):
    """A missing or malformed setting; str() is one line naming the variable."""


def load_settings(model: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    env = os.environ if environ is None else environ
    names = {field.alias or name for name, field in model.model_fields.items()}
    present = {name: env[name] for name in names if name in env and env[name] != ""}
    present |= _from_files(names, env, present)
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        problem = exc.errors()[0]
        variable = ".".join(str(part) for part in problem["loc"]) or model.__name__
        if problem["type"] == "missing":
            raise ConfigError(f"{variable} is required but not set") from None
        # A validator's own ValueError reads better without pydantic's "Value error, " prefix.
        reason = problem.get("ctx", {}).get("error") if problem["type"] == "value_error" else None
        raise ConfigError(f"{variable} is invalid: {reason or problem['msg']}") from None


def _from_files(
    names: set[str], env: Mapping[str, str], present: Mapping[str, str]
) -> dict[str, str]:
    """Settings given as NAME_FILE, the path of a file holding the value (Docker/Swarm secrets).

    Secrets then never appear in the environment or a service's spec. One trailing newline
    is dropped, the way `echo value > file` writes it.
    """
    values = {}
    for name in names:
        path = env.get(f"{name}_FILE", "")
        if not path:
            continue
        if name in present:
            raise ConfigError(f"{name} and {name}_FILE are both set; set one of them")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"{name}_FILE is invalid: cannot read {path}: {reason}") from None
        values[name] = text.removesuffix("\n")
    return values


def exit_on_config_error(error: ConfigError, service: str) -> NoReturn:
    print(f"{service}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
