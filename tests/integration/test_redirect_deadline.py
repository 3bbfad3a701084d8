"""Redirects under Redis faults: a click is recorded exactly when the redirect is served.

A script that reaches Redis too late records nothing; a script whose reply died with a
restarting Redis is tried again with the same attempt once Redis is back.

When Redis stalls (paused, busy) for longer than web's socket timeout, web gives up and the
visitor gets a 503; but the script it sent still sits in Redis's input buffer and runs once
Redis resumes. Without a deadline it would append a click event for a redirect nobody was
served, and counted clicks would exceed redirects served.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from linkpulse import contract
from linkpulse.redis_client import connect
from tests.support.redis_server import RedisServer
from tests.support.reply_dropping_proxy import ReplyDroppingProxy
from tests.support.web_app import MakeApp
from web.store import LinkStore

pytestmark = pytest.mark.integration

SOCKET_TIMEOUT_S = 0.4


def _event(code: str) -> contract.ClickEvent:
    return contract.ClickEvent(code, time.time_ns() // 1_000_000, "", "desktop", "vh", "rid")


def test_a_redirect_given_up_during_a_stall_records_no_click(own_redis: RedisServer) -> None:
    store = LinkStore(connect(own_redis.url, socket_timeout=SOCKET_TIMEOUT_S), 10_000)
    code = store.create("https://example.org/", None, None, time.time_ns() // 1_000_000).link.code
    assert store.resolve_and_record(_event(code), "in-time") == "https://example.org/"
    assert own_redis.process is not None

    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        # Both tries (redis-py retries once) time out while Redis is stopped.
        with pytest.raises(redis.TimeoutError):
            store.resolve_and_record(_event(code), "given-up")
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)

    direct = redis.Redis.from_url(own_redis.url)
    # Redis frees the connections web gave up on once it has run what they had sent.
    deadline = time.monotonic() + 10
    while direct.info("clients")["connected_clients"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert direct.info("clients")["connected_clients"] == 1
    assert direct.xlen(contract.CLICK_STREAM) == 1
    assert store.resolve_and_record(_event(code), "after") == "https://example.org/"
    assert direct.xlen(contract.CLICK_STREAM) == 2


def test_a_late_retry_of_an_attempt_recorded_in_time_still_redirects(
    own_redis: RedisServer,
) -> None:
    """The first try ran in time but its reply was lost: the late retry must redirect."""
    store = LinkStore(connect(own_redis.url, socket_timeout=SOCKET_TIMEOUT_S), 10_000)
    code = store.create("https://example.org/", None, None, time.time_ns() // 1_000_000).link.code
    event = _event(code)
    assert store.resolve_and_record(event, "attempt-1") == "https://example.org/"

    late = contract.ClickEvent(code, event.ts_ms - 60_000, "", "desktop", "vh", "rid")
    assert store.resolve_and_record(late, "attempt-1") == "https://example.org/"
    with pytest.raises(redis.TimeoutError):
        store.resolve_and_record(late, "attempt-2")
    assert redis.Redis.from_url(own_redis.url).xlen(contract.CLICK_STREAM) == 1


def test_a_redirect_whose_reply_died_with_redis_is_served_once_redis_is_back(
    redis_server: RedisServer, redis_url: str, make_app: MakeApp
) -> None:
    """A restart ran the script, lost its reply and refused the resend: redirect, count once."""
    proxy = ReplyDroppingProxy(redis_server.port)
    proxy.start()
    try:
        app = make_app(REDIS_URL=proxy.url)
        client = app.test_client()
        code = client.post("/api/links", json={"url": "https://example.org/"}).get_json()["code"]
        assert client.get(f"/{code}").status_code == 302  # scripts loaded, connection made

        proxy.drop_next_reply(then_refuse_s=0.5)
        response = client.get(f"/{code}")
    finally:
        proxy.stop()

    assert proxy.dropped.is_set()
    assert response.status_code == 302
    assert redis.Redis.from_url(redis_url).xlen(contract.CLICK_STREAM) == 2
