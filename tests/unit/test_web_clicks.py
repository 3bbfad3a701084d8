from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.clicks import referrer_host, ua_class, visitor_hash

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE, "mobile"),
        (ANDROID, "mobile"),
        (WINDOWS, "desktop"),
        (MAC, "desktop"),
        (GOOGLEBOT, "bot"),
        ("curl/8.5.0", "bot"),
        ("python-requests/2.32", "bot"),
        ("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120", "bot"),
        ("", "other"),
        (None, "other"),
        ("SomethingElse/1.0", "other"),
    ],
)
def test_user_agent_classes(user_agent: str | None, expected: str) -> None:
    assert ua_class(user_agent) == expected


@given(st.one_of(st.none(), st.text(max_size=200)))
def test_user_agent_class_is_always_one_of_four(user_agent: str | None) -> None:
    assert ua_class(user_agent) in {"bot", "mobile", "desktop", "other"}


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("https://News.Example.com/story?id=1", "news.example.com"),
        ("http://example.org:8080/", "example.org"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://user:pw@example.org/", "example.org"),
        (None, ""),
        ("", ""),
        ("not a url", ""),
        ("/relative/path", ""),
        ("http://[::1", ""),
        ("https://exa<mple>.org/", ""),
    ],
)
def test_referrer_host(referer: str | None, host: str) -> None:
    assert referrer_host(referer) == host


@given(st.text(max_size=300))
def test_referrer_host_is_empty_or_a_lowercase_ascii_host(referer: str) -> None:
    host = referrer_host(referer)
    assert host == "" or re.fullmatch(r"[a-z0-9_.-]{1,253}", host)


def test_visitor_hash_is_a_salted_truncated_hmac_without_the_ip() -> None:
    first = visitor_hash("salt-0123456789abcdef", "203.0.113.9", "UA")
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert "203.0.113.9" not in first
    assert first == visitor_hash("salt-0123456789abcdef", "203.0.113.9", "UA")
    assert first != visitor_hash("other-salt-0123456789", "203.0.113.9", "UA")
    assert first != visitor_hash("salt-0123456789abcdef", "203.0.113.10", "UA")
    assert first != visitor_hash("salt-0123456789abcdef", "203.0.113.9", "UA2")
