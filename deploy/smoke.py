"""Smoke checks through the public port, the way a visitor arrives.

They leave nothing behind: the test link is deleted again, and it is followed with HEAD, which
web answers without counting a click.
"""

from __future__ import annotations

import secrets

import requests

from deploy.errors import DeployError


def _expect(response: requests.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise DeployError(
            f"smoke check failed: {what} answered {response.status_code}, expected {status}: "
            f"{response.text[:200]!r}"
        )


def smoke(public_url: str, timeout_s: float = 5.0) -> list[str]:
    """Runs the checks; one line per check passed; DeployError on the first failure."""
    passed = []
    try:
        _expect(
            requests.get(f"{public_url}/nginx-health", timeout=timeout_s), 200, "GET /nginx-health"
        )
        passed.append("nginx answers")
        _expect(requests.get(f"{public_url}/readyz", timeout=timeout_s), 200, "GET /readyz")
        passed.append("web ready (Redis reachable)")
        alias = f"smoke-{secrets.token_hex(4)}"
        target = f"https://example.org/deploy-smoke/{alias}"
        created = requests.post(
            f"{public_url}/api/links", json={"url": target, "alias": alias}, timeout=timeout_s
        )
        _expect(created, 201, "POST /api/links")
        try:
            followed = requests.head(
                f"{public_url}/{alias}", allow_redirects=False, timeout=timeout_s
            )
            _expect(followed, 302, f"HEAD /{alias}")
            if followed.headers.get("Location") != target:
                raise DeployError(
                    f"smoke check failed: /{alias} redirects to "
                    f"{followed.headers.get('Location')!r}"
                )
            passed.append("create + follow a link")
        finally:
            requests.delete(f"{public_url}/api/links/{alias}", timeout=timeout_s)
    except requests.RequestException as error:
        raise DeployError(f"smoke check failed: {error}") from error
    return passed
