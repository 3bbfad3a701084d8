"""The links a run visits, created through the API when the run starts, and their popularity.

Popularity follows a Zipf law: the link of rank k is visited in proportion to 1 / k**s, so a few
links take most clicks while the long tail still gets some, as with links shared in the wild.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

# Targets on a host no one serves from here: the load test only checks the 302's Location.
TARGET = "https://example.com/loadtest/{run}/{index}"


class SeedError(RuntimeError):
    """The API refused to create the links a run needs; str() says why."""


@dataclass(frozen=True)
class Link:
    code: str
    url: str


class LinkCatalog:
    """Seeded links and a Zipf sampler over them (rank = position in the list)."""

    def __init__(self, links: list[Link], exponent: float) -> None:
        if not links:
            raise ValueError("a catalog needs at least one link")
        self.links = links
        weights = [1.0 / rank**exponent for rank in range(1, len(links) + 1)]
        self._cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> Link:
        point = rng.random() * self._cumulative[-1]
        return self.links[bisect.bisect_right(self._cumulative, point)]


def create_links_politely(
    host: str,
    count: int,
    run: str,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline_s: float = 300.0,
) -> list[Link]:
    """Create COUNT links through POST /api/links, waiting out every 429 for its Retry-After."""
    http = session or requests.Session()
    links: list[Link] = []
    give_up_at = time.monotonic() + deadline_s
    while len(links) < count:
        url = TARGET.format(run=run, index=len(links))
        try:
            response = http.post(f"{host}/api/links", json={"url": url}, timeout=10)
        except requests.RequestException as error:
            raise SeedError(f"creating the run's links at {host}: {error}") from error
        if response.status_code == 201:
            links.append(Link(code=response.json()["code"], url=url))
            continue
        if response.status_code == 429 and time.monotonic() < give_up_at:
            sleep(_retry_after_s(response))
            continue
        raise SeedError(
            f"creating the run's links at {host}: HTTP {response.status_code} "
            f"after {len(links)} of {count}: {response.text[:200]}"
        )
    return links


def _retry_after_s(response: requests.Response) -> float:
    try:
        return max(0.1, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
