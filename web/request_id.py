"""Request ids: accept a caller's id when it is safe to log and echo, otherwise mint one."""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_LENGTH = 128
_SAFE = re.compile(r"^[A-Za-z0-9._:@/+=-]+$")


def is_valid_request_id(value: str) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID_LENGTH and bool(_SAFE.fullmatch(value))


def request_id_from(header_value: str | None) -> str:
    if header_value is not None and is_valid_request_id(header_value):
        return header_value
    return uuid.uuid4().hex
