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

import idna

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_HOSTNAME_LENGTH = 253

# Underscores are not legal in hostnames, but they are common in real DNS names.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# A bracketed IP literal is the whole host: "[::1].evil.com" is not [::1] with junk after it.
_BRACKETED_NETLOC = re.compile(r"\[[^\[\]]*\](:[0-9]*)?")
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
    if ("[" in parts.netloc or "]" in parts.netloc) and not _BRACKETED_NETLOC.fullmatch(
        parts.netloc
    ):
        raise UrlPolicyError("URL host is not a valid domain name or IP address")
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


_WEB_PORTS = frozenset({80, 443})


def points_at(stored_url: str, base_url: str) -> bool:
    """Whether a stored-form URL points at the service behind base_url: the same host, and
    the same port, where 80 and 443 count as one (http on a TLS host is usually redirected to
    https). Another port on the host is another service."""
    target, base = urlsplit(stored_url), urlsplit(normalise_url(base_url))
    if target.hostname != base.hostname:
        return False
    target_port, base_port = _port_of(target.scheme, target.port), _port_of(base.scheme, base.port)
    return target_port == base_port or {target_port, base_port} <= _WEB_PORTS


def _port_of(scheme: str, port: int | None) -> int:
    if port is not None:
        return port
    return 443 if scheme == "https" else 80


def _normalise_host(hostname: str) -> str:
    """Lowercase ASCII host: IP literals as given, names by IDNA 2008 with UTS 46 mapping.

    That is what browsers resolve today: 'faß.de' is xn--fa-hia.de (IDNA 2003 made it
    fass.de, another domain), and an 'xn--' label must be valid IDNA 2008 that round-trips.
    """
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        # Non-transitional UTS 46: case folding, full-width dots, and ß/ς kept as themselves.
        mapped = idna.uts46_remap(hostname, std3_rules=False, transitional=False)
        labels = [_ascii_label(label) for label in mapped.removesuffix(".").split(".")]
    except UnicodeError:
        raise UrlPolicyError("URL host is not a valid domain name") from None
    encoded = ".".join(labels)
    if len(encoded) > MAX_HOSTNAME_LENGTH or not all(map(_HOST_LABEL.fullmatch, labels)):
        raise UrlPolicyError("URL host is not a valid domain name")
    return encoded


def _ascii_label(label: str) -> str:
    """One label as stored; raises UnicodeError (idna.IDNAError) for an invalid one.

    Plain ASCII labels skip IDNA: its rules refuse '_', which real DNS names use. An 'xn--'
    label must decode to valid IDNA 2008 and encode back to itself.
    """
    if not label.isascii():
        return idna.alabel(label).decode("ascii")
    lowered = label.lower()
    if lowered.startswith("xn--") and idna.alabel(idna.ulabel(lowered)).decode() != lowered:
        raise idna.IDNAError("not the canonical A-label")
    return lowered


def _encode_non_ascii(part: str) -> str:
    return quote(part, safe=_SAFE_ASCII)
