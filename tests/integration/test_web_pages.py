"""The server-rendered pages, parsed as HTML (the browser path is in tests/e2e)."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import redis
from flask.testing import FlaskClient

from linkpulse import contract
from tests.support.web_app import BASE_URL

pytestmark = pytest.mark.integration


class _Elements(HTMLParser):
    """Text and attributes of every element that has an id, plus the tags seen."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.text: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.by_id[attributes["id"]] = {"tag": tag, **attributes}
            self.text.setdefault(attributes["id"], "")
            self._open.append(attributes["id"])
        elif tag not in {"input", "link", "meta", "rect", "line", "br"}:
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag not in {"input", "link", "meta", "br"}:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data


def test_start_page_has_the_form(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = _Elements(response.get_data(as_text=True))
    assert page.by_id["shorten"]["tag"] == "form"
    assert page.by_id["shorten"]["method"] == "post"
    names = {attrs.get("name") for tag, attrs in page.tags if tag in {"input", "select"}}
    assert {"url", "alias", "expires_in"} <= names
    assert not any(tag == "script" for tag, _ in page.tags)
    assert "short-url" not in page.by_id


def test_submitting_the_form_shows_the_link_and_token_once(client: FlaskClient) -> None:
    response = client.post(
        "/", data={"url": "https://example.org/x", "alias": "", "expires_in": "3600"}
    )
    assert response.status_code == 201
    # Review finding 9: the page holds the manage token, so nothing may cache it.
    assert response.headers["Cache-Control"] == "no-store"
    page = _Elements(response.get_data(as_text=True))
    short_url = page.text["short-url"].strip()
    assert short_url.startswith(f"{BASE_URL}/")
    token = page.text["manage-token"].strip()
    assert len(token) >= 43
    code = short_url.rsplit("/", 1)[1]
    assert client.get(f"/{code}").headers["Location"] == "https://example.org/x"
    info = client.get(f"/api/links/{code}").get_json()
    assert info["expires_at"] is not None
    assert token not in client.get(f"/s/{code}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"url": "ftp://example.org/file"}, 422, "http"),
        ({"url": ""}, 422, "url"),
        ({"url": "https://example.org", "alias": "api"}, 422, "reserved"),
        ({"url": "https://example.org", "expires_in": "soon"}, 422, "expires_in"),
        ({"url": "https://example.org", "expires_in": "²"}, 422, "expires_in"),
        ({"url": "https://example.org", "expires_in": "9" * 5000}, 422, "expires_in"),
        ({"url": "https://example.org", "expires_in": "0"}, 422, "expires_in"),
        ({"url": f"{BASE_URL}/abcdefg"}, 422, "shortener"),
    ],
)
def test_form_errors_are_readable(
    client: FlaskClient, form: dict[str, str], status: int, words: str
) -> None:
    response = client.post("/", data=form)
    assert response.status_code == status
    page = _Elements(response.get_data(as_text=True))
    assert words in page.text["form-error"].lower()
    assert "short-url" not in page.by_id
    assert page.by_id["url"]["value"] == form["url"]


def test_taken_alias_in_the_form_is_409(client: FlaskClient) -> None:
    client.post("/", data={"url": "https://example.org", "alias": "mine"})
    response = client.post("/", data={"url": "https://example.org", "alias": "mine"})
    assert response.status_code == 409
    assert "taken" in _Elements(response.get_data(as_text=True)).text["form-error"]


def test_stats_page_shows_totals_referrers_and_chart(client: FlaskClient, redis_url: str) -> None:
    client.post("/", data={"url": "https://example.org", "alias": "charted"})
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    db.hset(
        contract.stats_key("charted"),
        mapping={contract.TOTAL_CLICKS_FIELD: 3, contract.day_field(today): 3},
    )
    db.zadd(contract.referrers_key("charted"), {"": 2, "news.example.com": 1})
    db.pfadd(contract.visitors_key("charted"), "a", "b")

    response = client.get("/s/charted")
    assert response.status_code == 200
    page = _Elements(response.get_data(as_text=True))
    assert page.text["total-clicks"].strip() == "3"
    assert page.text["unique-visitors"].strip() == "2"
    assert page.by_id["daily-chart"]["tag"] == "svg"
    bars = [attrs for tag, attrs in page.tags if tag == "rect"]
    assert len(bars) == 30
    assert bars[-1]["data-date"] == today
    assert bars[-1]["data-clicks"] == "3"
    referrers = page.text["referrers"]
    assert "(direct)" in referrers
    assert "news.example.com" in referrers


def test_unknown_stats_page_is_404(client: FlaskClient) -> None:
    response = client.get("/s/nosuchcode")
    assert response.status_code == 404
    assert "not found" in response.get_data(as_text=True).lower()


def test_form_body_over_the_limit_is_413_page(client: FlaskClient) -> None:
    response = client.post("/", data={"url": "https://example.org/" + "a" * 20_000})
    assert response.status_code == 413
    assert response.mimetype == "text/html"


def test_stylesheet_is_served(client: FlaskClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
