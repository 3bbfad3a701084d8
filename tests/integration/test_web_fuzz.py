"""Whatever a client sends, the answer is a deliberate status, never a 500."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "url": st.one_of(st.text(max_size=80), st.just("https://example.org"), _json_values),
            "alias": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{3,8}", fullmatch=True), _json_values),
            "expires_in": st.one_of(st.integers(), _json_values),
        },
    ),
    _json_values,
)
_fuzz = settings(
    max_examples=60,
    deadline=None,
    # Every example of a test runs against the same app: the point is that none gets a 500.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_fuzz
@given(body=_bodies)
def test_any_json_body_gets_a_deliberate_answer(app: Flask, body: object) -> None:
    response = app.test_client().post(
        "/api/links", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in {201, 409, 422}
    if response.status_code != 201:
        assert set(response.get_json()["error"]) >= {"code", "message"}


@_fuzz
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_deliberate_answer(app: Flask, raw: bytes) -> None:
    response = app.test_client().post("/api/links", data=raw, content_type="application/json")
    assert response.status_code in {201, 400, 409, 422}


def test_deeply_nested_json_is_400(app: Flask) -> None:
    response = app.test_client().post(
        "/api/links", data="[" * 8000 + "]" * 8000, content_type="application/json"
    )
    assert response.status_code == 400


@_fuzz
@given(
    segment=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "?" not in s),
    referer=st.text(max_size=60),
    user_agent=st.text(max_size=60),
    forwarded=st.text(max_size=40),
)
def test_any_path_and_headers_get_a_deliberate_answer(
    app: Flask, segment: str, referer: str, user_agent: str, forwarded: str
) -> None:
    headers = {
        name: value
        for name, value in (
            ("Referer", referer),
            ("User-Agent", user_agent),
            ("X-Forwarded-For", forwarded),
            ("X-Request-ID", segment),
        )
        if value.isascii() and value.isprintable()
    }
    client = app.test_client()
    for path in (f"/{segment}", f"/s/{segment}", f"/api/links/{segment}"):
        response = client.get(path, headers=headers)
        assert response.status_code in {200, 302, 404}, path
