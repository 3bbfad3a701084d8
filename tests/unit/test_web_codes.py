from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.web_app import UNREACHABLE_REDIS_URL, MakeApp
from web import codes, tokens


def test_random_codes_are_seven_base62_characters() -> None:
    generated = {codes.new_code() for _ in range(500)}
    assert all(re.fullmatch(r"[A-Za-z0-9]{7}", code) for code in generated)
    assert len(generated) == 500


@pytest.mark.parametrize("alias", ["abc", "my-link_2", "A" * 32, "___", "Launch-2026"])
def test_valid_aliases_are_accepted(alias: str) -> None:
    assert codes.alias_problem(alias) is None


@pytest.mark.parametrize(
    "alias", ["ab", "A" * 33, "has space", "dot.ted", "slash/ed", "ümlaut", "abc\n", ""]
)
def test_malformed_aliases_are_refused(alias: str) -> None:
    problem = codes.alias_problem(alias)
    assert problem is not None
    assert "3 to 32" in problem


@pytest.mark.parametrize(
    "word", ["api", "API", "static", "healthz", "readyz", "metrics", "openapi"]
)
def test_reserved_words_are_refused_in_any_case(word: str) -> None:
    assert codes.alias_problem(word) == f"alias {word!r} is reserved"


def test_every_fixed_top_level_path_of_the_app_is_reserved(make_app: MakeApp) -> None:
    app = make_app(REDIS_URL=UNREACHABLE_REDIS_URL)
    first_segments = {
        rule.rule.strip("/").split("/")[0]
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/<")
    } - {""}
    assert first_segments <= codes.RESERVED_WORDS


@given(st.from_regex(r"[A-Za-z0-9_-]{3,32}", fullmatch=True))
def test_alias_rule_matches_its_pattern(alias: str) -> None:
    assert (codes.alias_problem(alias) is None) != codes.is_reserved(alias)


@given(st.text(max_size=40))
def test_anything_outside_the_pattern_is_refused(alias: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{3,32}", alias):
        assert codes.alias_problem(alias) is not None


def test_manage_tokens_are_long_random_and_stored_as_sha256() -> None:
    token = tokens.new_manage_token()
    assert len(token) >= 43
    assert token != tokens.new_manage_token()
    stored = tokens.hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert token not in stored
    assert tokens.token_matches(token, stored)
    assert not tokens.token_matches(token + "x", stored)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic abc", None),
        ("abc", None),
    ],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    assert tokens.bearer_token(header) == token
