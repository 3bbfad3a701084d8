"""What one redirect tells us about its visitor, reduced to the click-event fields.

Pure functions so the classification rules can be tested without a request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlsplit

VISITOR_HASH_LENGTH = 32
MAX_REFERRER_HOST_LENGTH = 253

_BOT = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|monitor|curl|wget|httpie|python-|go-http-client"
    r"|java/|okhttp|libwww|headlesschrome|phantomjs",
    re.IGNORECASE,
)
_MOBILE = re.compile(r"mobi|android|iphone|ipad|ipod|windows phone|blackberry", re.IGNORECASE)
_DESKTOP = re.compile(r"windows nt|macintosh|x11|linux|cros", re.IGNORECASE)
_HOST = re.compile(r"^[a-z0-9_.-]+$")


def ua_class(user_agent: str | None) -> str:
    """'bot', 'mobile', 'desktop' or 'other'; bots first, since many claim a desktop OS."""
    if not user_agent:
        return "other"
    if _BOT.search(user_agent):
        return "bot"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "other"


def referrer_host(referer: str | None) -> str:
    """Lowercased host of the Referer header, '' for none or anything unparseable."""
    if not referer:
        return ""
    try:
        host = urlsplit(referer.strip()).hostname or ""
        host = host.encode("idna").decode("ascii").lower() if host else ""
    except (ValueError, UnicodeError):
        return ""
    if len(host) > MAX_REFERRER_HOST_LENGTH or not _HOST.fullmatch(host):
        return ""
    return host


def visitor_hash(salt: str, client_ip: str, user_agent: str) -> str:
    """A stable, salted pseudonym for one visitor; the raw IP never leaves this function."""
    message = f"{client_ip}\n{user_agent}".encode()
    digest = hmac.new(salt.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return digest[:VISITOR_HASH_LENGTH]
