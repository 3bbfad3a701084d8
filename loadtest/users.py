"""The three kinds of people who use linkpulse, as Locust users on FastHttpUser.

Each class is declared once, with its default weight; --visitor-weight and the like
(LOADTEST_VISITOR_WEIGHT ...) change it when a run starts (locustfile.py).

Every response is checked, not just counted: a redirect succeeds only as a 302 whose Location is
the link's URL (redirects are never followed), and an invalid request only when the expected 4xx
arrives. A 429 is a failure named "rate limited (429)", so the gates can tell the rate limiter
from the application.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, ClassVar

from locust import FastHttpUser, between, task
from locust.contrib.fasthttp import ResponseContextManager

from loadtest.catalog import Link, LinkCatalog
from loadtest.names import (
    CREATE,
    CREATE_INVALID,
    LINK,
    RATE_LIMITED,
    REDIRECT,
    STATS,
    STATS_PAGE,
)

# Invalid bodies and the status each must get (docs/api.md).
INVALID_REQUESTS: tuple[tuple[dict[str, Any], int], ...] = (
    ({"url": "ftp://example.com/file"}, 422),
    ({"url": "https://example.com/", "alias": "no spaces allowed"}, 422),
    ({"url": "https://example.com/", "alias": "api"}, 422),
    ({"alias": "no-url-given"}, 422),
    ({"url": "https://example.com/", "expires_in": -5}, 422),
)


def expect(response: ResponseContextManager, status: int) -> bool:
    """Mark RESPONSE failed unless it has STATUS; 429s get their own failure name."""
    if response.status_code == status:
        # An expected 4xx is a success; Locust would count it as a failure otherwise.
        response.success()
        return True
    if response.status_code == 429:
        response.failure(RATE_LIMITED)
    else:
        response.failure(f"expected {status}, got {response.status_code}")
    return False


class LinkpulseUser(FastHttpUser):
    """What the three kinds share: the run's links, and the names of the requests they make."""

    abstract = True
    # This process's links, created when the run starts (locustfile.py), shared by its users.
    catalog: ClassVar[LinkCatalog]
    # A kind left out of a run (weight 0) takes the gates of these requests with it.
    request_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def kind(cls) -> str:
        """visitor, creator, analyst: as --<kind>-weight and LOADTEST_<KIND>_WEIGHT say it."""
        return cls.__name__.removesuffix("User").lower()

    def on_start(self) -> None:
        self.rng = random.Random()

    def pick_link(self) -> Link:
        return self.catalog.pick(self.rng)


class VisitorUser(LinkpulseUser):
    """Follows short links; which one follows the catalog's Zipf popularity."""

    weight = 16
    wait_time = between(0.1, 0.5)
    request_names = (REDIRECT,)

    @task
    def follow_link(self) -> None:
        link = self.pick_link()
        with self.client.get(
            f"/{link.code}", name=REDIRECT, allow_redirects=False, catch_response=True
        ) as response:
            if expect(response, 302) and response.headers.get("Location") != link.url:
                response.failure(f"Location {response.headers.get('Location')!r} != the link's URL")


class CreatorUser(LinkpulseUser):
    """Makes links: most plain, some with an alias, some invalid on purpose."""

    weight = 1
    wait_time = between(1, 3)
    request_names = (CREATE, CREATE_INVALID)

    @task(5)
    def create_link(self) -> None:
        self._create({"url": f"https://example.com/created/{uuid.uuid4().hex}"})

    @task(3)
    def create_link_with_alias(self) -> None:
        alias = f"lt-{uuid.uuid4().hex[:16]}"
        self._create({"url": f"https://example.com/aliased/{alias}", "alias": alias})

    @task(2)
    def create_invalid_link(self) -> None:
        body, status = random.choice(INVALID_REQUESTS)
        with self.client.post(
            "/api/links", json=body, name=CREATE_INVALID, catch_response=True
        ) as response:
            expect(response, status)

    def _create(self, body: dict[str, Any]) -> None:
        with self.client.post(
            "/api/links", json=body, name=CREATE, catch_response=True
        ) as response:
            if expect(response, 201) and response.json().get("url") != body["url"]:
                response.failure("the created link has another URL")


class AnalystUser(LinkpulseUser):
    """Reads a link's numbers: the JSON stats, the link itself and the stats page."""

    weight = 3
    wait_time = between(0.5, 1.5)
    request_names = (LINK, STATS, STATS_PAGE)

    @task(3)
    def read_stats(self) -> None:
        link = self.pick_link()
        with self.client.get(
            f"/api/links/{link.code}/stats", name=STATS, catch_response=True
        ) as response:
            if expect(response, 200) and "clicks" not in response.json():
                response.failure("stats without clicks")

    @task(1)
    def read_link(self) -> None:
        link = self.pick_link()
        with self.client.get(f"/api/links/{link.code}", name=LINK, catch_response=True) as response:
            if expect(response, 200) and response.json().get("url") != link.url:
                response.failure("the link has another URL")

    @task(2)
    def open_stats_page(self) -> None:
        link = self.pick_link()
        with self.client.get(f"/s/{link.code}", name=STATS_PAGE, catch_response=True) as response:
            if expect(response, 200) and "text/html" not in response.headers.get(
                "Content-Type", ""
            ):
                response.failure("the stats page is not HTML")


USER_CLASSES: tuple[type[LinkpulseUser], ...] = (VisitorUser, CreatorUser, AnalystUser)
