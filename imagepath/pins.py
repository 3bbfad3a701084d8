"""docker/upstream-images.env: every upstream image the stack builds on or runs, by digest.

One line per image, KEY=name:tag@sha256:digest. docker-compose.yml reads each KEY (build args
of our Dockerfiles' FROM lines, `image:` of the services run unchanged) with the bare name:tag
as its default; scripts/stack-env.sh writes the pinned references into .env on the upstream
path and the bare names on the offline path, where local stand-ins carry those names and no
digest. A line without a digest is allowed (pinned by tag only) until the next bump fills it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imagepath.registry import Answer, Outcome

PINS_FILE = Path(__file__).resolve().parents[1] / "docker" / "upstream-images.env"
# The pin the registry probe asks for: the smallest image, and one every stack runs.
PROBE_KEY = "REDIS_IMAGE"
_LINE = re.compile(
    r"^(?P<key>[A-Z][A-Z0-9_]*_IMAGE)=(?P<name>[^@\s]+:[^@\s]+)(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class Pin:
    key: str
    name: str
    digest: str | None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.digest}" if self.digest else self.name


def read_pins(path: Path = PINS_FILE) -> list[Pin]:
    pins = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: not KEY_IMAGE=name:tag[@sha256:digest]: {line}")
        pins.append(Pin(match["key"], match["name"], match["digest"]))
    return pins


def env_lines(pins: list[Pin], path: str) -> list[str]:
    """What .env says for each pin on an image path: digests only where a registry serves them."""
    if path not in ("upstream", "offline"):
        raise ValueError(f"image path must be upstream or offline, not {path!r}")
    return [f"{pin.key}={pin.ref if path == 'upstream' else pin.name}" for pin in pins]


def bump(path: Path, resolve: Callable[[str], Answer]) -> list[str]:
    """Re-pin every line to the digest its tag names now; rewrites the file only if all resolve."""
    pins = read_pins(path)
    digests: dict[str, str] = {}
    for pin in pins:
        answer = resolve(pin.name)
        if answer.outcome is not Outcome.REACHABLE or not answer.digest:
            raise RuntimeError(f"{pin.name}: {answer.outcome} ({answer.detail})")
        digests[pin.key] = answer.digest
    changes, lines = [], []
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            lines.append(line)
            continue
        pin = Pin(match["key"], match["name"], digests[match["key"]])
        if pin.digest != match["digest"]:
            changes.append(f"{pin.name}: {match['digest'] or 'no digest'} -> {pin.digest}")
        lines.append(f"{pin.key}={pin.ref}")
    path.write_text("\n".join(lines) + "\n")
    return changes
