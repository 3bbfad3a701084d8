"""Smoke checks through the public port, the way a visitor arrives.

They leave nothing behind: the test link is deleted again with the manage token its creation
returned, and it is followed with HEAD, which web answers without counting a click.
"""

from __future__ import annotations

import secrets

import requests

from deploy.errors import DeployError

# web refuses new links past CREATE_MEMORY_LIMIT_PERCENT of Redis's maxmemory (a storage
# incident), while existing links keep working; a deploy may be the fix for that incident.
STORAGE_FULL = 507


def _expect(response: requests.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise DeployError(
            f"smoke check failed: {what} answered {response.status_code}, expected {status}: "
            f"{response.text[:200]!r}"
        )


def _follow(public_url: str, alias: str, target: str, timeout_s: float) -> None:
    followed = requests.head(f"{public_url}/{alias}", allow_redirects=False, timeout=timeout_s)
    _expect(followed, 302, f"HEAD /{alias}")
    if followed.headers.get("Location") != target:
        raise DeployError(
            f"smoke check failed: /{alias} redirects to {followed.headers.get('Location')!r}"
        )


def _link_round_trip(public_url: str, timeout_s: float) -> str:
    """Create, follow and delete a link; the line to report."""
    alias = f"smoke-{secrets.token_hex(4)}"
    target = f"https://example.org/deploy-smoke/{alias}"
    created = requests.post(
        f"{public_url}/api/links", json={"url": target, "alias": alias}, timeout=timeout_s
    )
    if created.status_code == STORAGE_FULL:
        return (
            "create check SKIPPED: POST /api/links answered 507 (storage nearly full, new links "
            "refused; existing links are served): see docs/runbooks/LinkCreatesRefused.md"
        )
    _expect(created, 201, "POST /api/links")
    token = created.json()["manage_token"]
    try:
        _follow(public_url, alias, target, timeout_s)
    finally:
        deleted = requests.delete(
            f"{public_url}/api/links/{alias}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
    _expect(deleted, 204, f"DELETE /api/links/{alias}")
    return f"create + follow + delete a link ({alias})"


def smoke(public_url: str, timeout_s: float = 5.0) -> list[str]:
    """Runs the checks; one line per check passed (or skipped); DeployError on the first
    failure."""
    passed = []
    try:
        _expect(
            requests.get(f"{public_url}/nginx-health", timeout=timeout_s), 200, "GET /nginx-health"
        )
        passed.append("nginx answers")
        _expect(requests.get(f"{public_url}/readyz", timeout=timeout_s), 200, "GET /readyz")
        passed.append("web ready (Redis reachable)")
        passed.append(_link_round_trip(public_url, timeout_s))
    except requests.RequestException as error:
        raise DeployError(f"smoke check failed: {error}") from error
    return passed
