"""`make rotate-secret` under the load loop: no failed request, no lost click, the old password
refused, and a restart of redis afterwards still on the new one (docs/operations.md).

The load opens a connection per request, as visitors following a short link do: nginx's reloads
can close a reused keep-alive connection under a request, which no server-side step can hide
(docs/deploy.md, "Zero downtime on one VM")."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.stack.stack import REPO_ROOT, Stack, compose, env_file, redis_cli, up, wait_until
from tests.stack.traffic import Traffic, assert_nothing_lost, more_traffic, served

pytestmark = pytest.mark.stack

FIGURES = REPO_ROOT / "build" / "rotation.json"


def setting(name: str) -> str:
    for line in env_file().read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise AssertionError(f"{name} is not in {env_file()}")


def auth(password: str) -> str:
    """redis' answer to AUTH with PASSWORD (sent on stdin, never in a process list)."""
    return subprocess.run(
        ["docker", "compose", "exec", "-T", "redis", "redis-cli"],
        cwd=REPO_ROOT,
        input=f"AUTH {password}\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()


def rotate(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "rotate-secret", f"NAME={name}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def converged() -> Iterator[None]:
    """Leaves the stack as `make up` would: redis recreated with the env file's password."""
    yield
    up()


@pytest.mark.usefixtures("converged")
def test_rotation_under_load_fails_no_request_and_loses_no_click(stack: Stack) -> None:
    old_password, old_salt = setting("REDIS_PASSWORD"), setting("VISITOR_HASH_SALT")
    assert auth(old_password) == "OK"
    figures: dict[str, float | int] = {}
    with Traffic(stack.app_url, keep_alive=False) as traffic:
        more_traffic(traffic, 20)
        for name in ("REDIS_PASSWORD", "VISITOR_HASH_SALT"):
            before, started = served(traffic), time.monotonic()
            result = rotate(name)
            assert result.returncode == 0, result.stdout + result.stderr
            figures[f"{name} seconds"] = round(time.monotonic() - started, 1)
            figures[f"{name} requests during"] = served(traffic) - before
        more_traffic(traffic, 20)
    figures["failed requests"] = len(traffic.log.failures)
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")

    assert traffic.log.failures == []
    assert_nothing_lost(stack, traffic.log)
    new_password = setting("REDIS_PASSWORD")
    assert new_password != old_password
    assert setting("VISITOR_HASH_SALT") != old_salt
    assert "WRONGPASS" in auth(old_password)
    assert auth(new_password) == "OK"

    # A restart of the same container, still created with the old REDIS_PASSWORD, keeps the new.
    compose("restart", "redis")
    wait_until(lambda: "PONG" in redis_cli("PING"), "redis to answer after its restart")
    assert "WRONGPASS" in auth(old_password)
    code = wait_until(
        lambda: stack.create_link("https://example.com/after-rotation")["code"],
        "web to create a link again after redis restarted",
    )
    assert stack.click(code).status_code == 302
