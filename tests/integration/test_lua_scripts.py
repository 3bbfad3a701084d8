"""Every Lua script in linkpulse/lua/ compiles in a real redis-server, and every one is used."""

from __future__ import annotations

import pytest
import redis

from linkpulse import scripts

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", scripts.all_names())
def test_script_compiles(redis_url: str, name: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        sha = client.script_load(scripts.load(name))
    except redis.ResponseError as error:
        pytest.fail(f"linkpulse/lua/{name}.lua does not compile: {error}")
    assert client.script_exists(sha) == [True]


def test_the_lua_directory_holds_exactly_the_scripts_the_code_names() -> None:
    named = {
        scripts.CREATE_LINK,
        scripts.RESOLVE_AND_RECORD,
        scripts.APPLY_BATCH,
        scripts.REMOVE_IDLE_CONSUMER,
        scripts.DEAD_LETTER,
    }
    assert set(scripts.all_names()) == named
