"""Day two on the rehearsal's VM, continued (issue 17): `rotate-secret` for the two secrets the
operator brings, each new value on the tool's stdin.

REGISTRY_PASSWORD: a value the registry does not know is refused in one line and pull-password
is left as it was. Then the registry's side: the stand-in's htpasswd holds one password per
user, so the pull user's line gets the new hash and the registry restarts (whether or not its
version reloads the file by itself); the rotation then logs the VM in with the new value
and only then replaces pull-password, which every later deploy (the Swarm part's too) logs in with.
ALERT_RECEIVER_KEY: a new key recreates Alertmanager with it, and test-alert still delivers.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import bcrypt
import requests

from rehearsal import infra

if TYPE_CHECKING:
    from rehearsal.scenario import Runner

ALERTMANAGER = "$(docker ps --quiet --filter label=com.docker.compose.service=alertmanager)"
ENV_OF = "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "
REGISTRY_UP_S = 60.0


def run(runner: Runner) -> None:
    registry(runner)
    receiver_key(runner)


def one_line_refusal(stderr: str, expected: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and expected in lines[0]


def registry(runner: Runner) -> None:
    summary, password_file = runner.summary, runner.workdir / "pull-password"
    old = password_file.read_text()
    wrong = runner.tool("rotate-secret", "REGISTRY_PASSWORD", stdin="not-the-password\n")
    summary.notes["day 2 rotation: wrong registry password"] = wrong.stderr.strip()
    summary.check(
        "day 2 rotation: a registry password the registry refuses: one line, pull-password kept",
        wrong.returncode == 1
        and one_line_refusal(wrong.stderr, "refused the login")
        and password_file.read_text() == old,
    )
    new = secrets.token_hex(16)
    htpasswd = runner.workdir / "registry-auth" / "htpasswd"
    hashed = bcrypt.hashpw(new.encode(), bcrypt.gensalt(rounds=10)).decode()
    htpasswd.write_text(
        "".join(
            f"{infra.PULL_USER}:{hashed}\n" if line.startswith(f"{infra.PULL_USER}:") else line
            for line in htpasswd.read_text().splitlines(keepends=True)
        )
    )
    infra.docker("restart", infra.REGISTRY)
    registry_answers()
    started = time.monotonic()
    rotated = runner.tool("rotate-secret", "REGISTRY_PASSWORD", stdin=f"{new}\n")
    summary.notes["day 2 rotation: REGISTRY_PASSWORD seconds"] = round(
        time.monotonic() - started, 1
    )
    summary.notes["day 2 rotation: REGISTRY_PASSWORD output"] = rotated.stdout.strip()
    summary.check(
        "day 2 rotation: REGISTRY_PASSWORD: the VM logs in with the new one, then pull-password "
        "holds it",
        rotated.returncode == 0 and password_file.read_text().strip() == new,
    )


def registry_answers() -> None:
    """The restarted registry answering /v2/ (401 without a login) before the rotation logs in."""
    deadline = time.monotonic() + REGISTRY_UP_S
    url = f"http://127.0.0.1:{infra.REGISTRY_PORT}/v2/"
    while not asks_for_a_login(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the registry did not answer {url} after its restart")
        time.sleep(0.5)


def asks_for_a_login(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 401
    except requests.ConnectionError:
        return False


def receiver_key(runner: Runner) -> None:
    summary = runner.summary
    empty = runner.tool("rotate-secret", "ALERT_RECEIVER_KEY", stdin="")
    summary.check(
        "day 2 rotation: ALERT_RECEIVER_KEY with nothing on stdin: one line, exit 1",
        empty.returncode == 1 and one_line_refusal(empty.stderr, "no new value on stdin"),
    )
    before = infra.on_vm(f"echo {ALERTMANAGER}").strip()
    key = f"rehearsal-{secrets.token_hex(8)}"
    started = time.monotonic()
    rotated = runner.tool("rotate-secret", "ALERT_RECEIVER_KEY", stdin=f"{key}\n")
    summary.notes["day 2 rotation: ALERT_RECEIVER_KEY seconds"] = round(
        time.monotonic() - started, 1
    )
    env = infra.on_vm(ENV_OF + ALERTMANAGER)
    page = runner.tool("test-alert")
    summary.notes["day 2 rotation: test-alert after the key"] = (page.stdout + page.stderr).strip()
    summary.check(
        "day 2 rotation: ALERT_RECEIVER_KEY: Alertmanager recreated with the new key, "
        "test-alert delivered",
        rotated.returncode == 0
        and f"ALERT_RECEIVER_KEY={key}" in env.splitlines()
        and infra.on_vm(f"echo {ALERTMANAGER}").strip() != before
        and page.returncode == 0
        and "delivered" in page.stdout,
    )
