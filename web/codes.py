"""Short codes: random ones, chosen aliases, and the words neither may take."""

from __future__ import annotations

import re
import secrets
import string

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
ALIAS_PATTERN = r"^[A-Za-z0-9_-]{3,32}$"
_ALIAS = re.compile(ALIAS_PATTERN)
# Anything a code could be, random or chosen; used to reject junk before touching Redis.
_ANY_CODE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")

# Paths the app serves or may serve one day, plus names that invite phishing. Compared
# case-insensitively so "API" cannot pose as "api" on a case-insensitive eye.
RESERVED_WORDS = frozenset(
    {
        "about",
        "account",
        "admin",
        "api",
        "assets",
        "docs",
        "favicon.ico",
        "health",
        "healthz",
        "help",
        "login",
        "logout",
        "metrics",
        "openapi",
        "readyz",
        "robots.txt",
        "s",
        "signin",
        "signup",
        "static",
        "stats",
        "status",
        "www",
    }
)


def new_code() -> str:
    """A random code; 62**7 (about 3.5e12) possibilities, so clashes are rare but retried."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not is_reserved(code):
            return code


def is_reserved(word: str) -> bool:
    return word.lower() in RESERVED_WORDS


def alias_problem(alias: str) -> str | None:
    """Why an alias is refused, or None when it may be used."""
    if not _ALIAS.fullmatch(alias):
        return "alias must be 3 to 32 characters: letters, digits, '_' or '-'"
    if is_reserved(alias):
        return f"alias {alias!r} is reserved"
    return None


def looks_like_code(text: str) -> bool:
    return bool(_ANY_CODE.fullmatch(text))
