"""Links and click events written straight into Redis, for the worker's tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from linkpulse.contract import (
    CLICK_STREAM,
    EVENT_SCHEMA_VERSION,
    LINK_CREATED_AT_FIELD,
    LINK_CREATED_FIELD,
    LINK_EXPIRES_AT_FIELD,
    LINK_URL_FIELD,
    ClickEvent,
    link_key,
)

XADD_CHUNK = 5_000


def create_links(client: redis.Redis, codes: Iterable[str]) -> None:
    """Write bare link hashes, enough for the worker to count their clicks."""
    pipe = client.pipeline(transaction=False)
    for code in codes:
        pipe.hset(
            link_key(code),
            mapping={
                LINK_URL_FIELD: "https://example.org/",
                LINK_CREATED_AT_FIELD: "",
                LINK_EXPIRES_AT_FIELD: "",
            },
        )
    pipe.execute()


def append_events(client: redis.Redis, events: Iterable[ClickEvent]) -> list[str]:
    """XADD the events in pipelined chunks; returns their stream ids."""
    ids: list[str] = []
    pipe = client.pipeline(transaction=False)
    for number, event in enumerate(events, start=1):
        pipe.xadd(CLICK_STREAM, event.to_fields())  # type: ignore[arg-type]
        if number % XADD_CHUNK == 0:
            ids.extend(pipe.execute())
    ids.extend(pipe.execute())
    return ids


def parse_click_event(fields: dict[str, str]) -> ClickEvent:
    """The whole event back from its stream fields; raises ValueError for one this version
    cannot read. The tests' reading of the contract: the worker's own, cheaper reader
    (worker.click_fields) is held to it."""
    if fields.get("v") != EVENT_SCHEMA_VERSION:
        raise ValueError(f"unsupported click event version {fields.get('v')!r}")
    try:
        return ClickEvent(
            code=fields["code"],
            ts_ms=int(fields["ts"]),
            referrer_host=fields.get("ref", ""),
            ua_class=fields.get("ua", "other"),
            visitor_hash=fields["vh"],
            request_id=fields.get("rid", ""),
            link_created=fields.get(LINK_CREATED_FIELD, ""),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed click event: {exc}") from exc
