"""The settings every in-process test app starts from; a test overrides only what it is about."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from web.config import WebSettings

BASE_URL = "https://sho.rt"
SALT = "test-salt-0123456789abcdef"
# For apps whose requests never reach Redis: nothing listens on port 1.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"

# The `make_app` fixture of tests/conftest.py: overrides as in web_settings().
MakeApp = Callable[..., Flask]


def web_settings(**overrides: object) -> WebSettings:
    """WebSettings for a test app; `overrides` use the environment variable names."""
    fields: dict[str, object] = {
        "PUBLIC_BASE_URL": BASE_URL,
        "VISITOR_HASH_SALT": SALT,
        **overrides,
    }
    return WebSettings.model_validate(fields)
