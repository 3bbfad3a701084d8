"""TRUSTED_PROXIES: behind a load balancer nginx keys its limits on the visitor the balancer
names in X-Forwarded-For, and on the peer itself for anyone else, whatever they send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.config.nginx_instance import NginxInstance, render_limits
from tests.config.stub_upstream import StubUpstream

# Small enough that a budget runs out within a few dozen requests at any pace.
LIMITS = {"RATE_LIMIT_WRITE": "1r/m", "RATE_LIMIT_WRITE_BURST": "3"}


@pytest.fixture
def make_edge(tmp_path: Path, upstream: StubUpstream) -> Iterator[Callable[..., NginxInstance]]:
    started: list[NginxInstance] = []

    def start(trusted: str) -> NginxInstance:
        settings = {**LIMITS, "TRUSTED_PROXIES": trusted}
        instance = NginxInstance(tmp_path / f"nginx{len(started)}", upstream.port, limits=settings)
        instance.render()
        instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


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
    edge = make_edge("127.0.0.1/32")  # the balancer: these tests' own client

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
    edge = make_edge("127.0.0.1/32")

    first = _spend_budget(edge, "198.51.100.1, 203.0.113.1")
    forged = _post(edge, "198.51.100.2, 203.0.113.1")

    assert first[-1] == 429
    assert forged.status_code == 429


def test_by_default_nobody_is_trusted_and_a_forwarded_address_is_ignored(
    make_edge: Callable[..., NginxInstance],
) -> None:
    edge = make_edge("")

    first = _spend_budget(edge, "203.0.113.1")
    other = _post(edge, "203.0.113.2")

    assert first[-1] == 429
    assert other.status_code == 429  # the same peer, the same budget
    accepted = requests.get(
        f"{edge.base_url}/api/links/abc",
        headers={"X-Forwarded-For": "203.0.113.9"},
        timeout=5,
    )
    assert accepted.json()["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_an_untrusted_balancer_network_changes_nothing(
    make_edge: Callable[..., NginxInstance],
) -> None:
    edge = make_edge("10.231.8.9/32")  # a balancer elsewhere; this client is not it

    first = _spend_budget(edge, "203.0.113.1")

    assert first[-1] == 429
    assert _post(edge, "203.0.113.2").status_code == 429


def test_a_malformed_entry_stops_the_container(tmp_path: Path) -> None:
    result = render_limits(tmp_path, {"TRUSTED_PROXIES": "10.0.0.0/8,balancer"})

    assert result.returncode == 2
    assert "TRUSTED_PROXIES entry 'balancer'" in result.stderr
