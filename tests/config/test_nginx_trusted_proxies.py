"""TRUSTED_PROXIES: behind a load balancer nginx keys its limits on the visitor the balancer
names in X-Forwarded-For, and on the peer itself for anyone else, whatever they send."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.config.nginx_instance import NginxInstance, render_limits

# Small enough that a budget runs out within a few dozen requests at any pace.
LIMITS = {"RATE_LIMIT_WRITE": "1r/m", "RATE_LIMIT_WRITE_BURST": "3"}


def _post(edge: NginxInstance, forwarded_for: str) -> requests.Response:
    return requests.post(
        f"{edge.base_url}/api/links",
        data="{}",
        headers={"X-Forwarded-For": forwarded_for},
        timeout=5,
    )


def _spend_budget(edge: NginxInstance, forwarded_for: str) -> list[int]:
    statuses: list[int] = []
    while len(statuses) < 20 and 429 not in statuses:
        statuses.append(_post(edge, forwarded_for).status_code)
    return statuses


def test_behind_a_trusted_balancer_each_visitor_has_a_budget_of_its_own(
    make_edge: Callable[..., NginxInstance],
) -> None:
    edge = make_edge(
        **LIMITS, TRUSTED_PROXIES="127.0.0.1/32"
    )  # the balancer: these tests' own client

    first = _spend_budget(edge, "203.0.113.1")
    second = _post(edge, "203.0.113.2")

    assert first[-1] == 429
    assert second.status_code == 200
    # web is told the visitor, for its creation quota and visitor count.
    assert second.json()["headers"]["X-Forwarded-For"] == "203.0.113.2"


def test_a_visitor_cannot_forge_the_address_before_the_balancers(
    make_edge: Callable[..., NginxInstance],
) -> None:
    """HAProxy appends the peer it saw; what the client wrote before that is the client's word."""
    edge = make_edge(**LIMITS, TRUSTED_PROXIES="127.0.0.1/32")

    first = _spend_budget(edge, "198.51.100.1, 203.0.113.1")
    forged = _post(edge, "198.51.100.2, 203.0.113.1")

    assert first[-1] == 429
    assert forged.status_code == 429


# Empty: the default, trusting nobody; or a balancer elsewhere, which this client is not.
@pytest.mark.parametrize("trusted", ["", "10.231.8.9/32"])
def test_from_an_untrusted_peer_a_forwarded_address_is_ignored(
    make_edge: Callable[..., NginxInstance], trusted: str
) -> None:
    edge = make_edge(**LIMITS, TRUSTED_PROXIES=trusted)

    first = _spend_budget(edge, "203.0.113.1")
    other = _post(edge, "203.0.113.2")
    read = requests.get(
        f"{edge.base_url}/api/links/abc", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5
    )

    assert first[-1] == 429
    assert other.status_code == 429  # the same peer, the same budget
    assert read.json()["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_a_malformed_entry_stops_the_container(tmp_path: Path) -> None:
    result = render_limits(tmp_path, {"TRUSTED_PROXIES": "10.0.0.0/8,balancer"})

    assert result.returncode == 2
    assert "TRUSTED_PROXIES entry 'balancer'" in result.stderr
