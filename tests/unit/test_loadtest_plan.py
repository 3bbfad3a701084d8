"""Load-test shapes and the Zipf catalog: pure logic, no Locust run."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import requests

from loadtest.catalog import Link, LinkCatalog, SeedError, create_links_politely
from loadtest.shapes import SHAPES


def test_ramp_holds_the_users_until_the_duration_ends() -> None:
    tick = SHAPES["ramp"](40, 10, 60)

    assert tick(0) == (40, 10)
    assert tick(59.9) == (40, 10)
    assert tick(60) is None


def test_step_adds_a_fifth_of_the_users_each_step() -> None:
    tick = SHAPES["step"](50, 10, 100)

    assert [tick(t)[0] for t in (0, 20, 40, 60, 99)] == [10, 20, 30, 40, 50]  # type: ignore[index]
    assert tick(100) is None


def test_spike_jumps_to_all_users_at_once_in_the_middle() -> None:
    tick = SHAPES["spike"](40, 2, 100)

    assert tick(10) == (10, 40.0)
    assert tick(50) == (40, 40.0)
    assert tick(80) == (10, 40.0)


def test_soak_ramps_gently_then_holds() -> None:
    tick = SHAPES["soak"](100, 50, 1000)

    assert tick(0) == (100, 1.0)  # 100 users over the first tenth: 1 per second
    assert tick(999) == (100, 1.0)
    assert tick(1000) is None


def test_popularity_follows_zipf() -> None:
    catalog = LinkCatalog([Link(str(i), f"u{i}") for i in range(100)], exponent=1.0)
    rng = random.Random(7)

    counts = Counter(catalog.pick(rng).code for _ in range(50_000))

    # Rank 1 draws about twice rank 2 and ten times rank 10; every rank is drawn.
    assert 1.7 < counts["0"] / counts["1"] < 2.3
    assert 8 < counts["0"] / counts["9"] < 12
    assert len(counts) == 100


class _Response:
    def __init__(self, status: int, body: dict[str, str] | None = None, retry: str = "1") -> None:
        self.status_code = status
        self._body = body or {}
        self.headers = {"Retry-After": retry}
        self.text = str(body)

    def json(self) -> dict[str, str]:
        return self._body


class _Api:
    """Answers 429 twice, then creates; records what it was asked."""

    def __init__(self, answers: list[_Response]) -> None:
        self.answers = answers
        self.posted: list[str] = []

    def post(self, url: str, json: dict[str, str], timeout: float) -> _Response:
        self.posted.append(json["url"])
        return self.answers.pop(0)


def test_seeding_waits_out_429_for_its_retry_after() -> None:
    api = _Api(
        [
            _Response(429, retry="2"),
            _Response(201, {"code": "a"}),
            _Response(429),
            _Response(201, {"code": "b"}),
        ]
    )
    slept: list[float] = []

    links = create_links_politely("http://h", 2, "run1", session=api, sleep=slept.append)  # type: ignore[arg-type]

    assert [link.code for link in links] == ["a", "b"]
    assert slept == [2.0, 1.0]
    assert links[0].url == api.posted[0] == api.posted[1]  # the refused request is retried as is


def test_seeding_stops_with_the_reason_on_any_other_error() -> None:
    api = _Api([_Response(201, {"code": "a"}), _Response(503, {"error": "down"})])

    with pytest.raises(SeedError, match="HTTP 503 after 1 of 3"):
        create_links_politely("http://h", 3, "r", session=api, sleep=lambda _: None)  # type: ignore[arg-type]


def test_seeding_reports_an_unreachable_host() -> None:
    class Down:
        def post(self, *_: object, **__: object) -> None:
            raise requests.ConnectionError("refused")

    with pytest.raises(SeedError, match="refused"):
        create_links_politely("http://h", 1, "r", session=Down(), sleep=lambda _: None)  # type: ignore[arg-type]
