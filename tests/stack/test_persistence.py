"""Links and counted clicks survive a redis restart and a full down/up of the stack."""

from __future__ import annotations

import uuid

import pytest

from tests.stack.stack import Stack, compose, up, wait_until

pytestmark = pytest.mark.stack


def _links_with_clicks(stack: Stack, clicks_per_link: list[int]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for clicks in clicks_per_link:
        code = stack.create_link(f"https://example.com/keep/{uuid.uuid4().hex}")["code"]
        for _ in range(clicks):
            assert stack.click(code).status_code == 302
        counted[code] = clicks
    for code, clicks in counted.items():
        stack.wait_for_clicks(code, clicks)
    return counted


def _assert_still_there(stack: Stack, counted: dict[str, int]) -> None:
    for code, clicks in counted.items():
        assert stack.clicks(code) == clicks, code


def test_redis_restart_and_full_down_up_keep_links_and_counted_clicks(stack: Stack) -> None:
    counted = _links_with_clicks(stack, [0, 1, 3])

    compose("restart", "redis")
    up()  # waits until redis, and web's readiness that depends on it, are healthy again
    wait_until(lambda: stack.clicks(next(iter(counted))) == 0, "web to answer after restart")
    _assert_still_there(stack, counted)

    compose("down")
    up()
    _assert_still_there(stack, counted)

    # The pipeline still works on the restored data.
    code = next(code for code, clicks in counted.items() if clicks == 3)
    assert stack.click(code).status_code == 302
    stack.wait_for_clicks(code, 4)
