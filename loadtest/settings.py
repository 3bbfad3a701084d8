"""Load-test settings from the environment, each with a documented default (docs/loadtesting.md).

A bad value stops the run before any traffic with one line naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

SHAPES = ("ramp", "step", "spike", "soak", "manual")
# Locust's --run-time format: 90s, 5m, 1h30m, 1h2m3s.
_RUN_TIME = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class SettingsError(ValueError):
    """A setting is malformed; str() is the line to print."""


def run_time_seconds(text: str) -> int:
    """Seconds in Locust's run-time format (`30s`, `5m`, `1h30m`); a bare number is seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _RUN_TIME.match(text)
    if not text or match is None:
        raise SettingsError(f"{text!r} is not a duration like 30s, 5m or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class LoadTestSettings:
    host: str
    users: int
    spawn_rate: float
    duration_s: int
    shape: str
    links: int
    zipf_exponent: float
    visitor_weight: int
    creator_weight: int
    analyst_weight: int
    prometheus_url: str
    results_dir: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LoadTestSettings:
        env = _Environ(os.environ if environ is None else environ)
        shape = env.shape()
        host = env.url("LOADTEST_HOST", "http://127.0.0.1:8080")
        weights = env.weights()
        return cls(
            host=host,
            users=int(env.number("LOADTEST_USERS", "40", int, 1)),
            spawn_rate=env.number("LOADTEST_SPAWN_RATE", "10", float, 0.1),
            duration_s=env.duration("LOADTEST_DURATION", "1m"),
            shape=shape,
            links=int(env.number("LOADTEST_LINKS", "200", int, 1)),
            zipf_exponent=env.number("LOADTEST_ZIPF_EXPONENT", "1.1", float, 0.0),
            visitor_weight=weights["visitor"],
            creator_weight=weights["creator"],
            analyst_weight=weights["analyst"],
            prometheus_url=env.text("LOADTEST_PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/"),
            results_dir=env.text("LOADTEST_RESULTS_DIR", ""),
        )


class _Environ:
    """One environment's LOADTEST_* values, checked; each error names its variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, "").strip() or default

    def number(self, name: str, default: str, kind: type[int] | type[float], low: float) -> float:
        raw = self.text(name, default)
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r}: expected a number") from None
        if value < low:
            raise SettingsError(f"{name}={raw!r}: must be at least {low:g}")
        return value

    def duration(self, name: str, default: str) -> int:
        try:
            seconds = run_time_seconds(self.text(name, default))
        except SettingsError as error:
            raise SettingsError(f"{name}: {error}") from None
        if seconds <= 0:
            raise SettingsError(f"{name}: must be longer than 0s")
        return seconds

    def shape(self) -> str:
        shape = self.text("LOADTEST_SHAPE", "ramp")
        if shape not in SHAPES:
            raise SettingsError(f"LOADTEST_SHAPE={shape!r}: choose one of {', '.join(SHAPES)}")
        return shape

    def url(self, name: str, default: str) -> str:
        url = self.text(name, default).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"{name}={url!r}: expected http://host:port")
        return url

    def weights(self) -> dict[str, int]:
        """The user types' weights by role; at least one above 0."""
        weights = {
            role: int(self.number(f"LOADTEST_{role.upper()}_WEIGHT", default, int, 0))
            for role, default in (("visitor", "16"), ("creator", "1"), ("analyst", "3"))
        }
        if not any(weights.values()):
            raise SettingsError("LOADTEST_*_WEIGHT: at least one user type needs a weight above 0")
        return weights
