"""Configuration from environment variables, validated once at start-up.

A service declares its settings as a pydantic model whose field aliases are the
environment variable names; `load_settings` turns the first problem into one line
that names the variable, which is what an operator reading a crash log needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
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


def exit_on_config_error(error: ConfigError, service: str) -> NoReturn:
    print(f"{service}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
