"""A create whose reply is lost is retried by redis-py and still answers 'created' (finding 5).

Before, the retry found the key its own first try had written and answered 409 alias_taken:
the creator lost the link's manage token. The create script now recognises its own link by
the token hash, which is unique to one create call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from linkpulse import contract, scripts
from linkpulse.redis_client import connect
from tests.support.redis_server import RedisServer
from tests.support.reply_dropping_proxy import ReplyDroppingProxy
from web import tokens
from web.store import AliasTakenError, LinkStore

pytestmark = pytest.mark.integration

URL = "https://example.org/idempotent"


@pytest.fixture
def proxy(redis_server: RedisServer, redis_url: str) -> Iterator[ReplyDroppingProxy]:
    lossy = ReplyDroppingProxy(redis_server.port)
    lossy.start()
    yield lossy
    lossy.stop()


@pytest.fixture
def store(proxy: ReplyDroppingProxy) -> LinkStore:
    link_store = LinkStore(connect(proxy.url), click_stream_maxlen=1_000)
    link_store.ping()  # connected, so the dropped reply is the create's, not the handshake's
    # Loaded up front, so the create is one EVALSHA (not NOSCRIPT, then a load, then a retry).
    link_store.redis.script_load(scripts.load(scripts.CREATE_LINK))
    return link_store


@pytest.mark.parametrize("alias", ["retried-1", None])
def test_a_create_whose_reply_was_lost_returns_its_link_and_token(
    store: LinkStore, proxy: ReplyDroppingProxy, redis_url: str, alias: str | None
) -> None:
    proxy.drop_next_reply()
    new = store.create(URL, alias, None, now_ms=1_800_000_000_000)

    assert proxy.dropped.is_set()  # the first try's reply really was lost
    direct = redis.Redis.from_url(redis_url, decode_responses=True)
    stored = direct.hgetall(contract.link_key(new.link.code))
    assert stored[contract.LINK_URL_FIELD] == URL
    assert tokens.token_matches(new.manage_token, stored[contract.LINK_TOKEN_HASH_FIELD])
    assert alias is None or new.link.code == alias
    # One link: the retry did not leave an orphan under a second random code either.
    assert list(direct.scan_iter(contract.link_key("*"))) == [contract.link_key(new.link.code)]
    assert store.delete(new.link.code, new.manage_token) is True


def test_another_create_of_the_same_alias_is_still_refused(store: LinkStore) -> None:
    store.create(URL, "taken-1", None, now_ms=1_800_000_000_000)
    with pytest.raises(AliasTakenError):
        store.create(URL, "taken-1", None, now_ms=1_800_000_000_001)
