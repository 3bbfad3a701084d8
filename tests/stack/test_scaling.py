"""Several workers consume the click stream at once and still count every click once."""

from __future__ import annotations

import uuid

import pytest

from tests.stack.stack import Stack, compose, pending_clicks, up, wait_until

pytestmark = pytest.mark.stack

CLICKS = 60


@pytest.fixture
def three_workers() -> object:
    up("--scale", "worker=3")
    yield
    up("--scale", "worker=1")


@pytest.mark.usefixtures("three_workers")
def test_three_workers_count_each_click_exactly_once(stack: Stack) -> None:
    workers = compose("ps", "--quiet", "--status", "running", "worker").split()
    assert len(workers) == 3

    code = stack.create_link(f"https://example.com/scale/{uuid.uuid4().hex}")["code"]
    for _ in range(CLICKS):
        assert stack.click(code).status_code == 302

    stack.wait_for_clicks(code, CLICKS)
    # Once nothing is pending, no worker holds an event it could still apply a second time.
    wait_until(lambda: pending_clicks() == 0, "every click event to be acknowledged")
    assert stack.clicks(code) == CLICKS
