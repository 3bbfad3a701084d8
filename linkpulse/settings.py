"""Configuration from environment variables, validated once at start-up.

A service declares its settings as a pydantic model whose field aliases are the
environment variable names; `load_settings` turns the first problem into one line
that names the variable, which is what an operator reading a crash log needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

SettingsT = TypeVar("SettingsT", bound=BaseModel)


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
        raise ConfigError(f"{variable} is invalid: {problem['msg']}") from None


def exit_on_config_error(error: ConfigError, service: str) -> NoReturn:
    print(f"{service}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
