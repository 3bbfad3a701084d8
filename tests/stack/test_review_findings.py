"""Review findings (issue 10) checked once more in the built containers: the images' own
gunicorn and nginx config, and a poison event in the real stream under the real restart policy.
Each finding's regression test proper lives in a faster tier (named in each docstring)."""

from __future__ import annotations

import uuid

import pytest
import requests

from linkpulse.contract import CLICK_STREAM, DEAD_LETTER_STREAM
from tests.stack.stack import Stack, compose, running_containers, service_of, wait_until
from web.security_headers import SECURITY_HEADERS

pytestmark = pytest.mark.stack


def redis_cli(command: str) -> str:
    return compose(
        "exec", "-T", "redis", "sh", "-c", f'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli {command}'
    ).strip()


def worker_restarts() -> dict[str, int]:
    return {
        c["Id"]: int(c["RestartCount"]) for c in running_containers() if service_of(c) == "worker"
    }


def test_a_poison_event_neither_restarts_a_worker_nor_stops_the_counting(stack: Stack) -> None:
    """Finding 3 (tests/integration/test_worker_process.py has the regression test)."""
    restarts_before = worker_restarts()
    dead_before = int(redis_cli(f"XLEN {DEAD_LETTER_STREAM}"))
    # A byte that is not UTF-8, made by the shell inside the redis container.
    redis_cli(
        f"XADD {CLICK_STREAM} '*' v 1 code poison ts 1 ref \"$(printf '\\377')\" vh h ua other"
    )
    link = stack.create_link(f"https://example.com/after-poison/{uuid.uuid4().hex}")
    assert stack.click(link["code"]).status_code == 302

    stack.wait_for_clicks(link["code"], 1)
    wait_until(
        lambda: int(redis_cli(f"XLEN {DEAD_LETTER_STREAM}")) > dead_before, "the dead letter"
    )
    assert worker_restarts() == restarts_before


def test_the_edge_answers_long_requests_in_json(stack: Stack) -> None:
    """Finding 10 (tests/config/test_edge_with_web.py): the images' nginx and gunicorn limits."""
    for length, status in ((5_000, 404), (9_000, 414)):
        path = "/api/links/" + "a" * (length - len("/api/links/"))
        response = requests.get(f"{stack.app_url}{path}", timeout=10)
        assert response.status_code == status
        assert response.headers["Content-Type"].startswith("application/json")
        assert set(response.json()) == {"error"}


def test_the_edge_carries_webs_security_headers_and_ignores_the_host(stack: Stack) -> None:
    """Findings 6 and 7 (tests/config/test_edge_with_web.py, tests/integration/test_web_api.py)."""
    page = requests.get(f"{stack.app_url}/", timeout=10)
    for name, value in SECURITY_HEADERS.items():
        assert page.raw.headers.getlist(name) == [value], name
    moved = requests.get(
        f"{stack.app_url}/s//abcdefg",
        headers={"Host": "evil.example"},
        allow_redirects=False,
        timeout=10,
    )
    assert moved.status_code == 308
    assert "evil.example" not in moved.headers["Location"]
    assert moved.headers["Location"].endswith("/s/abcdefg")
