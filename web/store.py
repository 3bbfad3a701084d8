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


class CodeSpaceExhaustedError(Exception):
    """Several random codes in a row were taken: a sign of a broken RNG or a full keyspace."""


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


class LinkStore:
    def __init__(self, client: redis.Redis, click_stream_maxlen: int) -> None:
        self.redis = client
        self.click_stream_maxlen = click_stream_maxlen
        self._create = client.register_script(scripts.load(scripts.CREATE_LINK))
        self._resolve = client.register_script(scripts.load(scripts.RESOLVE_AND_RECORD))

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def create(self, url: str, alias: str | None, expires_in: int | None, now_ms: int) -> NewLink:
        token = tokens.new_manage_token()
        expires_ms = "" if expires_in is None else str(now_ms + expires_in * 1000)
        args = [
            expires_ms,
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
            if self._create(keys=contract.link_keys(code), args=args) == 1:
                link = _link_from_hash(code, [url, str(now_ms), expires_ms], now_ms)
                assert link is not None  # expires_in > 0, so it cannot be expired yet
                return NewLink(link=link, manage_token=token)
        if alias is not None:
            raise AliasTakenError(alias)
        raise CodeSpaceExhaustedError(f"{CODE_ATTEMPTS} random codes in a row were taken")

    def get(self, code: str, now_ms: int) -> tuple[Link, int] | None:
        """The live link and its total clicks, or None when unknown or expired."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(contract.link_key(code), _LINK_FIELDS)
        pipe.hget(contract.stats_key(code), contract.TOTAL_CLICKS_FIELD)
        fields, clicks = pipe.execute()
        link = _link_from_hash(code, fields, now_ms)
        if link is None:
            return None
        return link, int(clicks or 0)

    def stats(self, code: str, now_ms: int) -> Stats | None:
        days = last_days(now_ms)
        pipe = self.redis.pipeline(transaction=True)
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
        redirect without its event, and the caller answers 503 instead of redirecting.
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
                *event.field_values(),
            ],
        )
        return None if result is None else str(result)

    def peek(self, code: str, now_ms: int) -> str | None:
        """The destination URL without recording a click (for HEAD), None if unknown/expired."""
        fields = self.redis.hmget(contract.link_key(code), _LINK_FIELDS)
        link = _link_from_hash(code, [None if f is None else str(f) for f in fields], now_ms)
        return None if link is None else link.url

    def delete(self, code: str, token: str) -> bool | None:
        """True when deleted, False for a wrong token, None for an unknown code.

        WATCH makes check-then-delete atomic: if the link changes between reading its
        token hash and deleting (deleted and recreated under the same alias), EXEC
        aborts and we look again rather than delete someone else's link.
        """
        key = contract.link_key(code)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    stored_hash = pipe.hget(key, contract.LINK_TOKEN_HASH_FIELD)
                    if stored_hash is None:
                        return None
                    if not tokens.token_matches(token, str(stored_hash)):
                        return False
                    pipe.multi()
                    pipe.delete(*contract.link_keys(code))
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
