"""The Redis key and click-event contract shared by web and worker.

Everything either side writes to or reads from Redis is named here, so a change to the
layout is one diff that both services see. Web writes links and appends click events;
the worker reads events and owns every aggregate key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

KEY_PREFIX = "lp"

CLICK_STREAM = f"{KEY_PREFIX}:clicks"
CLICK_GROUP = "aggregators"

# Entries the worker cannot read (not UTF-8, unknown version, missing or bad fields) are
# moved here, unchanged, with two fields of their own, and acknowledged on CLICK_STREAM:
# one poison event never stops the pipeline, and nothing is thrown away unseen.
DEAD_LETTER_STREAM = f"{KEY_PREFIX}:clicks:dead"
DEAD_LETTER_ID_FIELD = "dead_letter_of"  # the entry's id on CLICK_STREAM
DEAD_LETTER_REASON_FIELD = "dead_letter_reason"
# Approximate cap (XADD MAXLEN ~): a flood of bad events cannot fill Redis through here.
DEAD_LETTER_MAXLEN = 10_000

EVENT_SCHEMA_VERSION = "1"
LINK_CREATED_FIELD = "lc"


def link_key(code: str) -> str:
    """Hash: the LINK_*_FIELD fields below: url, created_at, expires_at ('' when never), token_hash.

    created_at and expires_at are epoch milliseconds as decimal strings; token_hash is the
    sha256 hex digest of the manage token. A key with an expiry also carries a Redis
    PEXPIREAT at expires_at, so an expired link disappears by itself.
    """
    return f"{KEY_PREFIX}:link:{code}"


LINK_URL_FIELD = "url"
LINK_CREATED_AT_FIELD = "created_at"
LINK_EXPIRES_AT_FIELD = "expires_at"
LINK_TOKEN_HASH_FIELD = "token_hash"  # noqa: S105 - a field name, not a secret


def stats_key(code: str) -> str:
    """Hash: 'clicks' total and one 'd:YYYY-MM-DD' field per UTC day."""
    return f"{KEY_PREFIX}:stats:{code}"


def referrers_key(code: str) -> str:
    """Sorted set: referrer host -> clicks ('' for direct traffic)."""
    return f"{KEY_PREFIX}:refs:{code}"


def visitors_key(code: str) -> str:
    """HyperLogLog of salted visitor hashes."""
    return f"{KEY_PREFIX}:uv:{code}"


def redirect_attempt_key(attempt_id: str) -> str:
    """String, set for a while once a redirect attempt has appended its click event.

    A retried attempt (nginx retrying on another connection, redis-py resending after a
    timeout) carries the same id, finds this key and appends nothing: one click, once.
    """
    return f"{KEY_PREFIX}:attempt:{attempt_id}"


REDIRECT_ATTEMPT_TTL_MS = 120_000


def link_keys(code: str) -> tuple[str, ...]:
    """Every key that belongs to one link, for deletion."""
    return (link_key(code), stats_key(code), referrers_key(code), visitors_key(code))


TOTAL_CLICKS_FIELD = "clicks"


def day_field(day: str) -> str:
    return f"d:{day}"


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class ClickEvent:
    """One redirect, as appended to CLICK_STREAM by web and consumed by the worker."""

    code: str
    ts_ms: int
    referrer_host: str
    ua_class: str
    visitor_hash: str
    request_id: str
    # The clicked link's created_at ('lc'), added by web's redirect script, which alone reads
    # the link: the worker counts the click only for that link, not for a later one that
    # reuses a deleted alias. '' means no check.
    link_created: str = ""

    def to_fields(self) -> dict[str, str]:
        fields = {
            "v": EVENT_SCHEMA_VERSION,
            "code": self.code,
            "ts": str(self.ts_ms),
            "ref": self.referrer_host,
            "ua": self.ua_class,
            "vh": self.visitor_hash,
            "rid": self.request_id,
        }
        if self.link_created:
            fields[LINK_CREATED_FIELD] = self.link_created
        return fields

    def field_values(self) -> list[str]:
        """Flattened field/value pairs, for XADD inside a Lua script."""
        flat: list[str] = []
        for name, value in self.to_fields().items():
            flat.extend((name, value))
        return flat
