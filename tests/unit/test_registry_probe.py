"""The registry probe (imagepath.registry) against a fake registry on 127.0.0.1 answering each
way: only no answer at all means unreachable; a refusal is named, never taken for "offline"."""

from __future__ import annotations

import socket
import urllib.error

import pytest

from imagepath.registry import Outcome, _why, head_manifest, repository_path
from tests.support.fake_registry import DIGEST, closed_port, fake_registry, silent_listener

IMAGE = "redis:8.0.2"


def test_names_map_to_repositories_and_references() -> None:
    assert repository_path("redis:8.0.2") == ("library/redis", "8.0.2")
    assert repository_path("prom/prometheus:v2.53.3") == ("prom/prometheus", "v2.53.3")
    assert repository_path(f"redis:8.0.2@{DIGEST}") == ("library/redis", DIGEST)


def test_an_open_registry_is_reachable_and_gives_the_digest() -> None:
    with fake_registry(200) as registry:
        answer = head_manifest(registry.url, IMAGE, timeout=5)
    assert (answer.outcome, answer.digest) == (Outcome.REACHABLE, DIGEST)
    # A HEAD: nothing is downloaded, and the upstream registry does not count it as a pull.
    assert registry.requests == ["HEAD /v2/library/redis/manifests/8.0.2"]


def test_the_anonymous_token_flow_is_followed() -> None:
    with fake_registry("token") as registry:
        answer = head_manifest(registry.url, f"redis:8.0.2@{DIGEST}", timeout=5)
    assert (answer.outcome, answer.digest) == (Outcome.REACHABLE, DIGEST)
    assert [request.split("?")[0] for request in registry.requests] == [
        f"HEAD /v2/library/redis/manifests/{DIGEST}",
        "GET /token",
        f"HEAD /v2/library/redis/manifests/{DIGEST}",
    ]


@pytest.mark.parametrize(
    ("status", "outcome", "says"),
    [
        (429, Outcome.RATE_LIMITED, "429: rate limited, retry after 60 s"),
        (401, Outcome.DENIED, "401: access denied"),
        (403, Outcome.DENIED, "403: access denied"),
        (404, Outcome.FAILING, "404: the registry has no such image"),
        (500, Outcome.FAILING, "500: the registry answered with an error"),
    ],
)
def test_a_refusal_is_named(status: int, outcome: Outcome, says: str) -> None:
    with fake_registry(status) as registry:
        answer = head_manifest(registry.url, IMAGE, timeout=5)
    assert answer.outcome is outcome
    assert says in answer.line(registry.url)
    assert "\n" not in answer.line(registry.url)


@pytest.mark.parametrize(
    ("status", "outcome"), [(429, Outcome.RATE_LIMITED), (403, Outcome.DENIED)]
)
def test_a_refusing_token_service_is_named_too(status: int, outcome: Outcome) -> None:
    with fake_registry("token", token_status=status) as registry:
        assert head_manifest(registry.url, IMAGE, timeout=5).outcome is outcome


def test_a_closed_port_is_unreachable() -> None:
    with closed_port() as url:
        answer = head_manifest(url, IMAGE, timeout=5)
    assert answer.outcome is Outcome.UNREACHABLE
    assert "connection refused" in answer.line(url)


def test_a_registry_that_never_answers_is_unreachable_after_the_timeout() -> None:
    with silent_listener() as url:
        answer = head_manifest(url, IMAGE, timeout=0.3)
    assert answer.outcome is Outcome.UNREACHABLE
    assert "no answer within 0.3 s" in answer.line(url)


def test_a_name_that_does_not_resolve_reads_as_such() -> None:
    # Not looked up for real: the test sends nothing off this machine, not even to a resolver.
    error = urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert _why(error, 5) == "its name does not resolve"
