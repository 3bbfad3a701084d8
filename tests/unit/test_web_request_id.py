from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.request_id import MAX_REQUEST_ID_LENGTH, is_valid_request_id, request_id_from


@pytest.mark.parametrize(
    "value", ["abc", "0f3c2a9e-7d1b-4c55-9d1f-1b2c3d4e5f60", "req.1:2/3+4=5@edge", "a" * 128]
)
def test_safe_incoming_ids_are_kept(value: str) -> None:
    assert request_id_from(value) == value


@pytest.mark.parametrize(
    "value", ["", "a" * 129, "has space", "line\nbreak", "abc\n", 'quote"d', "<script>", "ü"]
)
def test_unsafe_incoming_ids_are_replaced(value: str) -> None:
    generated = request_id_from(value)
    assert generated != value
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_missing_id_is_generated_fresh_each_time() -> None:
    assert request_id_from(None) != request_id_from(None)


@given(st.text(max_size=200))
def test_whatever_comes_in_the_id_used_is_safe(value: str) -> None:
    used = request_id_from(value)
    assert is_valid_request_id(used)
    assert len(used) <= MAX_REQUEST_ID_LENGTH
    assert used.isascii()
    assert used.isprintable()
    assert " " not in used
