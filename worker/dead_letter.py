"""Moving unreadable click events to the dead-letter stream (linkpulse.contract).

One bad entry must never stop the pipeline: it is copied, byte for byte, to
DEAD_LETTER_STREAM with its id and the reason, and acknowledged in the same script run
(linkpulse/lua/dead_letter.lua), so the valid entries around it are counted as usual.
"""

from __future__ import annotations

from typing import cast

import redis

from linkpulse import scripts
from linkpulse.contract import (
    CLICK_GROUP,
    CLICK_STREAM,
    DEAD_LETTER_ID_FIELD,
    DEAD_LETTER_MAXLEN,
    DEAD_LETTER_REASON_FIELD,
    DEAD_LETTER_STREAM,
)
from worker.batch import MalformedEntry

_UTF8, _AS_READ = "utf-8", "surrogateescape"


class DeadLetters:
    def __init__(self, client: redis.Redis, consumer: str) -> None:
        self.consumer = consumer
        self._script = client.register_script(scripts.load(scripts.DEAD_LETTER))

    def move(self, entry: MalformedEntry) -> bool:
        """Copy and acknowledge one entry; False if this consumer no longer owns it."""
        args = [
            CLICK_GROUP,
            self.consumer,
            str(DEAD_LETTER_MAXLEN),
            entry.entry_id,
            DEAD_LETTER_ID_FIELD,
            DEAD_LETTER_REASON_FIELD,
            entry.reason,
        ]
        # Bytes, not str: hiredis encodes str strictly, and these may hold escaped bytes.
        raw = [text.encode(_UTF8, _AS_READ) for text in args]
        for name, value in entry.fields.items():
            raw.extend((name.encode(_UTF8, _AS_READ), value.encode(_UTF8, _AS_READ)))
        moved = self._script(keys=[CLICK_STREAM, DEAD_LETTER_STREAM], args=raw)
        return int(cast("int", moved)) == 1
