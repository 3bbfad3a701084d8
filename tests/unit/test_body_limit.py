"""The request body limit is web's MAX_BODY_BYTES; nginx's static config must say the same."""

from __future__ import annotations

import re
from pathlib import Path

from web import MAX_BODY_BYTES

NGINX_SERVER = Path(__file__).resolve().parents[2] / "nginx" / "conf.d" / "default.conf"
_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


def _nginx_size(directive: str) -> int:
    found = re.search(rf"^\s*{directive} (\d+)([kKmM]?);", NGINX_SERVER.read_text(), re.M)
    assert found is not None, f"{NGINX_SERVER.name}: no {directive}"
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def test_nginx_refuses_exactly_the_bodies_web_refuses() -> None:
    assert _nginx_size("client_max_body_size") == MAX_BODY_BYTES, (
        f"{NGINX_SERVER.name}: client_max_body_size differs from web's MAX_BODY_BYTES"
    )


def test_nginx_keeps_every_body_it_accepts_in_memory() -> None:
    assert _nginx_size("client_body_buffer_size") == MAX_BODY_BYTES, (
        f"{NGINX_SERVER.name}: client_body_buffer_size differs from web's MAX_BODY_BYTES"
    )


def test_nginx_413_message_names_the_limit() -> None:
    message = re.search(r"Request body exceeds (\d+) KiB\.", NGINX_SERVER.read_text())
    assert message is not None, f"{NGINX_SERVER.name}: no 413 message naming the limit"
    assert int(message.group(1)) * 1024 == MAX_BODY_BYTES, (
        f"{NGINX_SERVER.name}: the 413 message names {message.group(1)} KiB"
    )
