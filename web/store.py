"""Links in Redis: create, read, delete, resolve-and-record, and the stats read path.

Every key comes from linkpulse.contract. Link hashes hold epoch milliseconds in
`created_at` and `expires_at` ('' = never), which is what the Lua expiry check compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from linkpulse import contract, scripts
from web import codes, tokens

STATS_DAYS = 30
TOP_REFERRERS = 10
CODE_ATTEMPTS = 8
# What _link_from_hash reads, in its order.
_LINK_FIELDS = (
    contract.LINK_URL_FIELD,
    contract.LINK_CREATED_AT_FIELD,
    contract.LINK_EXPIRES_AT_FIELD,
)


class AliasTakenError(Exception):
    pass


class RedirectTooLateError(redis.TimeoutError):
    """The redirect script reached Redis after its deadline and recorded nothing.

    A timeout as far as callers go: the visitor gets a 503, as when the reply never came.
    """


class CodeSpaceExhaustedError(Exception):
    """Several random codes in a row were taken: a sign of a broken RNG or a full keyspace."""


class QuotaExceededError(Exception):
    """The client has created as many links as its quota allows in this window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"creation quota used up; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class StorageFullError(Exception):
    """Redis is past the memory share new links may use; the rest is kept for everything else."""


@dataclass(frozen=True, slots=True)
class CreateQuota:
    """How many links one client may create per window; `client` is its hashed identity."""

    client: str
    per_window: int
    window_ms: int = 3_600_000

    def key(self, now_ms: int) -> str:
        return contract.create_quota_key(self.client, now_ms // self.window_ms)

    def retry_after_s(self, now_ms: int) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, -(-(self.window_ms - now_ms % self.window_ms) // 1000))


@dataclass(frozen=True, slots=True)
class Link:
    code: str
    url: str
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewLink:
    link: Link
    manage_token: str


@dataclass(frozen=True, slots=True)
class Stats:
    clicks: int
    unique_visitors: int
    daily: list[tuple[str, int]]
    referrers: list[tuple[str, int]]


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _link_from_hash(code: str, fields: list[str | None], now_ms: int) -> Link | None:
    """fields = [url, created_at, expires_at]; None when missing or already expired."""
    url, created_at, expires_at = fields
    if url is None or created_at is None:
        return None
    if expires_at and int(expires_at) <= now_ms:
        return None
    return Link(
        code=code,
        url=url,
        created_at=_from_ms(created_at),
        expires_at=_from_ms(expires_at) if expires_at else None,
    )


def last_days(now_ms: int, count: int = STATS_DAYS) -> list[str]:
    """The `count` UTC days ending today, oldest first."""
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
    return [(today - timedelta(days=offset)).isoformat() for offset in range(count - 1, -1, -1)]


# The share of the Redis socket timeout within which a redirect's script must run.
RECORD_DEADLINE_SHARE = 0.75
# resolve_and_record.lua's answer for a call that ran after its deadline.
_TOO_LATE = 0
# create_link.lua's answers besides 1 (created).
_CODE_TAKEN, _QUOTA_USED_UP, _STORAGE_FULL = 0, -1, -2


class LinkStore:
    def __init__(
        self, client: redis.Redis, click_stream_maxlen: int, create_memory_percent: int = 0
    ) -> None:
        """`create_memory_percent`: creates are refused from this share of maxmemory (0: never)."""
        self.redis = client
        self.click_stream_maxlen = click_stream_maxlen
        self.create_memory_percent = create_memory_percent
        self._create = client.register_script(scripts.load(scripts.CREATE_LINK))
        self._resolve = client.register_script(scripts.load(scripts.RESOLVE_AND_RECORD))
        self._delete = client.register_script(scripts.load(scripts.DELETE_LINK))
        # A redirect's click is recorded only if its script runs within this much of the
        # request's start: well inside the socket timeout, after which web has given up.
        timeout_s = client.connection_pool.connection_kwargs.get("socket_timeout") or 2.0
        self.record_deadline_ms = int(timeout_s * 1000 * RECORD_DEADLINE_SHARE)
        self._write_probe = client.register_script(scripts.load(scripts.WRITE_PROBE))

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def takes_writes(self) -> bool:
        """Whether Redis would accept a write now (False when out of memory or read-only).

        Redis itself decides, by refusing a script that may write; nothing is written.
        """
        try:
            self._write_probe()
        except (redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError):
            return False
        return True

    def memory_percent(self) -> float | None:
        """Used memory as a percentage of maxmemory; None when Redis has no maxmemory."""
        info = self.redis.info("memory")
        maxmemory = int(info.get("maxmemory", 0))
        if maxmemory <= 0:
            return None
        return 100 * int(info["used_memory"]) / maxmemory

    def takes_new_links(self) -> bool:
        """Whether memory is below the share at which creates are refused."""
        if self.create_memory_percent <= 0:
            return True
        used = self.memory_percent()
        return used is None or used < self.create_memory_percent

    def create(
        self,
        url: str,
        alias: str | None,
        expires_in: int | None,
        now_ms: int,
        quota: CreateQuota | None = None,
    ) -> NewLink:
        """Store a new link under `alias` or a random code, within `quota` (None: no quota).

        Raises AliasTakenError, QuotaExceededError, StorageFullError, CodeSpaceExhaustedError.
        Safe under redis-py's retry: a retried call finds its own link and succeeds.
        """
        token = tokens.new_manage_token()
        expires_ms = "" if expires_in is None else str(now_ms + expires_in * 1000)
        quota_key = quota.key(now_ms) if quota else contract.create_quota_key("none", 0)
        args: list[str | int] = [
            expires_ms,
            contract.LINK_TOKEN_HASH_FIELD,
            quota.per_window if quota else 0,
            quota.window_ms if quota else 0,
            self.create_memory_percent,
            contract.LINK_URL_FIELD,
            url,
            contract.LINK_CREATED_AT_FIELD,
            str(now_ms),
            contract.LINK_EXPIRES_AT_FIELD,
            expires_ms,
            contract.LINK_TOKEN_HASH_FIELD,
            tokens.hash_token(token),
        ]
        candidates = (
            iter([alias]) if alias is not None else (codes.new_code() for _ in range(CODE_ATTEMPTS))
        )
        for code in candidates:
            outcome = self._create(keys=[*contract.link_keys(code), quota_key], args=args)
            if outcome == _QUOTA_USED_UP:
                assert quota is not None  # the script checks no quota without one
                raise QuotaExceededError(quota.retry_after_s(now_ms))
            if outcome == _STORAGE_FULL:
                raise StorageFullError("Redis memory is past the share new links may use")
            if outcome != _CODE_TAKEN:
                link = _link_from_hash(code, [url, str(now_ms), expires_ms], now_ms)
                assert link is not None  # expires_in > 0, so it cannot be expired yet
                return NewLink(link=link, manage_token=token)
        if alias is not None:
            raise AliasTakenError(alias)
        raise CodeSpaceExhaustedError(f"{CODE_ATTEMPTS} random codes in a row were taken")

    def get(self, code: str, now_ms: int) -> tuple[Link, int] | None:
        """The live link and its total clicks, or None when unknown or expired.

        Reads are pipelined without MULTI here and in stats(): Redis refuses to queue any
        command inside MULTI when it is out of memory, and reads must keep working then.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(contract.link_key(code), _LINK_FIELDS)
        pipe.hget(contract.stats_key(code), contract.TOTAL_CLICKS_FIELD)
        fields, clicks = pipe.execute()
        link = _link_from_hash(code, fields, now_ms)
        if link is None:
            return None
        return link, int(clicks or 0)

    def stats(self, code: str, now_ms: int) -> Stats | None:
        days = last_days(now_ms)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(contract.link_key(code), _LINK_FIELDS)
        pipe.hmget(
            contract.stats_key(code),
            [contract.TOTAL_CLICKS_FIELD, *(contract.day_field(day) for day in days)],
        )
        pipe.zrevrange(contract.referrers_key(code), 0, TOP_REFERRERS - 1, withscores=True)
        pipe.pfcount(contract.visitors_key(code))
        link_fields, counters, referrers, unique_visitors = pipe.execute()
        if _link_from_hash(code, link_fields, now_ms) is None:
            return None
        total, *per_day = counters
        return Stats(
            clicks=int(total or 0),
            unique_visitors=int(unique_visitors),
            daily=[(day, int(value or 0)) for day, value in zip(days, per_day, strict=True)],
            referrers=[(host, int(score)) for host, score in referrers],
        )

    def resolve_and_record(self, event: contract.ClickEvent, attempt_id: str) -> str | None:
        """The destination URL, with its click event appended in the same atomic step.

        None for an unknown or expired code (and then no event is written). A Redis
        failure raises: the script either runs whole or not at all, so there is never a
        redirect without its event, and the caller answers 503 instead of redirecting. A
        script that runs too late to answer in time records nothing and raises too (a
        TimeoutError), so there is never an event without its redirect either.
        `attempt_id` names this redirect attempt: a retry of it appends no second event.
        """
        result = self._resolve(
            keys=[
                contract.link_key(event.code),
                contract.CLICK_STREAM,
                contract.redirect_attempt_key(attempt_id),
            ],
            args=[
                event.ts_ms,
                self.click_stream_maxlen,
                contract.REDIRECT_ATTEMPT_TTL_MS,
                *_LINK_FIELDS,
                contract.LINK_CREATED_FIELD,
                event.ts_ms + self.record_deadline_ms,
                *event.field_values(),
            ],
        )
        if result == _TOO_LATE:
            raise RedirectTooLateError("the redirect reached Redis after its deadline")
        return None if result is None else str(result)

    def peek(self, code: str, now_ms: int) -> str | None:
        """The destination URL without recording a click (for HEAD), None if unknown/expired."""
        fields = self.redis.hmget(contract.link_key(code), _LINK_FIELDS)
        link = _link_from_hash(code, [None if f is None else str(f) for f in fields], now_ms)
        return None if link is None else link.url

    def delete(self, code: str, token: str) -> bool | None:
        """True when deleted, False for a wrong token, None for an unknown code.

        The token is checked here in constant time, then delete_link.lua deletes only if the
        link still has that token hash: if it was deleted and created again under the same
        alias in between, we look again rather than delete someone else's link. The script
        runs even when Redis is out of memory: deleting is how an owner frees space.
        """
        keys = contract.link_keys(code)
        while True:
            stored_hash = self.redis.hget(keys[0], contract.LINK_TOKEN_HASH_FIELD)
            if stored_hash is None:
                return None
            if not tokens.token_matches(token, str(stored_hash)):
                return False
            if self._delete(keys=keys, args=[contract.LINK_TOKEN_HASH_FIELD, stored_hash]) == 1:
                return True
