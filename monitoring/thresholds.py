"""The alert thresholds (thresholds.toml beside this file), and the words they are written in.

node-mixin's way: one config of numbers, read by every rule's expression, its `for:`, its summary
and description, and by the dashboards' descriptions, so the prose can never drift from the rule.
Every value is read through `number` or `duration`, which name the alert and key on a bad or
missing entry; `unread` lists entries no rule or panel used, so a stale number is caught too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from slo import SpecError, duration_seconds

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.toml"
# Largest first; seconds divide every duration.
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


class ThresholdsError(ValueError):
    """thresholds.toml lacks an entry or holds a bad one; the message names it."""


class Thresholds:
    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._read: set[tuple[str, str]] = set()

    def _value(self, alert: str, key: str) -> object:
        try:
            value: object = self._raw[alert][key]
        except KeyError:
            raise ThresholdsError(f"{THRESHOLDS_FILE.name}: [{alert}] has no {key}") from None
        self._read.add((alert, key))
        return value

    def number(self, alert: str, key: str) -> float:
        value = self._value(alert, key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ThresholdsError(f"[{alert}] {key} must be a number, not {value!r}")
        return value

    def duration(self, alert: str, key: str) -> str:
        value = self._value(alert, key)
        try:
            duration_seconds(str(value))
        except SpecError as error:
            raise ThresholdsError(f"[{alert}] {key}: {error}") from None
        return str(value)

    def waits(self, alert: str) -> str | None:
        """ALERT's `for`, how long its condition must hold; None where its table has none (it
        fires at once)."""
        return self.duration(alert, "for") if "for" in self._raw.get(alert, {}) else None

    def unread(self) -> list[str]:
        """`alert.key` of every entry nothing has read yet."""
        return sorted(
            f"{alert}.{key}"
            for alert, table in self._raw.items()
            for key in table
            if (alert, key) not in self._read
        )


def parse_thresholds(text: str) -> Thresholds:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThresholdsError(f"{THRESHOLDS_FILE.name}: {error}") from error
    for alert, table in raw.items():
        if not isinstance(table, dict):
            raise ThresholdsError(f"{THRESHOLDS_FILE.name}: {alert} must be a table")
    return Thresholds(raw)


def load_thresholds() -> Thresholds:
    return parse_thresholds(THRESHOLDS_FILE.read_text())


def percent(share: float) -> str:
    """0.8 -> "80%"."""
    return f"{share * 100:g}%"


def count(number: float) -> str:
    """50000 -> "50,000"."""
    return f"{number:,.0f}"


def spoken(duration: str) -> str:
    """A duration as the descriptions say it: "1m" -> "a minute", "10m" -> "10 minutes"."""
    seconds = duration_seconds(duration)
    unit, size = next((unit, size) for unit, size in _UNITS if seconds % size == 0)
    amount = seconds // size
    article = "an" if unit == "hour" else "a"
    return f"{article} {unit}" if amount == 1 else f"{amount} {unit}s"
