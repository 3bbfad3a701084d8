"""Which destination URLs linkpulse accepts, and the one normal form it stores.

Pure functions, no I/O: the API, the HTML form and the tests all share them. The stored
form is ASCII only (punycode host, percent-encoded non-ASCII path), so it can go into a
Location header unchanged.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_HOSTNAME_LENGTH = 253

# Underscores are not legal in hostnames, but they are common in real DNS names.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Printable ASCII passes through unchanged, so an already-encoded URL stays identical.
_SAFE_ASCII = string.ascii_letters + string.digits + string.punctuation
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


class UrlPolicyError(ValueError):
    """The URL is refused; str() is a sentence a person can act on."""


def normalise_url(raw: str) -> str:
    """The stored form of an acceptable URL; raises UrlPolicyError otherwise."""
    if len(raw) > MAX_URL_LENGTH:
        raise UrlPolicyError(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in raw):
        raise UrlPolicyError("URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise UrlPolicyError(f"URL cannot be parsed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlPolicyError("URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise UrlPolicyError("URL must not contain a user name or password")
    if not parts.hostname:
        raise UrlPolicyError("URL must include a host name")
    host = _normalise_host(parts.hostname)
    netloc = host if port is None else f"{host}:{port}"
    normalised = urlunsplit(
        (
            scheme,
            netloc,
            _encode_non_ascii(parts.path),
            _encode_non_ascii(parts.query),
            _encode_non_ascii(parts.fragment),
        )
    )
    if len(normalised) > MAX_URL_LENGTH:
        raise UrlPolicyError(f"URL is longer than {MAX_URL_LENGTH} characters once encoded")
    return normalised


def _normalise_host(hostname: str) -> str:
    """Lowercase ASCII host: IP literals as given, names IDNA-encoded and checked label by label."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    name = hostname.removesuffix(".")
    try:
        encoded = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UrlPolicyError("URL host is not a valid domain name") from None
    labels = encoded.split(".")
    if len(encoded) > MAX_HOSTNAME_LENGTH or not all(
        _HOST_LABEL.fullmatch(label) and _is_valid_ace_label(label) for label in labels
    ):
        raise UrlPolicyError("URL host is not a valid domain name")
    return encoded


def _is_valid_ace_label(label: str) -> bool:
    """An 'xn--' label must be punycode that round-trips; the idna codec passes it blindly."""
    if not label.startswith("xn--"):
        return True
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        return bool(decoded) and decoded.encode("idna").decode("ascii").lower() == label
    except UnicodeError:
        return False


def _encode_non_ascii(part: str) -> str:
    return quote(part, safe=_SAFE_ASCII)
