"""python3 -m imagepath probe | names | env upstream|offline | pin (docs/containers.md)."""

from __future__ import annotations

import os
import sys
from functools import partial

from imagepath.pins import PINS_FILE, PROBE_KEY, bump, env_lines, read_pins
from imagepath.registry import DEFAULT_REGISTRY, DEFAULT_TIMEOUT, head_manifest

USAGE = "usage: python3 -m imagepath probe | names | env upstream|offline | pin"


def main(argv: list[str]) -> int:
    registry = os.environ.get("LINKPULSE_REGISTRY_URL") or DEFAULT_REGISTRY
    timeout = float(os.environ.get("LINKPULSE_REGISTRY_TIMEOUT") or DEFAULT_TIMEOUT)
    pins = read_pins()
    match argv:
        case ["probe"]:
            # The outcome word for scripts on stdout; the one line for people on stderr.
            (probe,) = [pin for pin in pins if pin.key == PROBE_KEY]
            answer = head_manifest(registry, probe.ref, timeout)
            print(answer.line(registry), file=sys.stderr)
            print(answer.outcome)
        case ["names"]:
            print("\n".join(pin.name for pin in pins))
        case ["env", path]:
            print("\n".join(env_lines(pins, path)))
        case ["pin"]:
            try:
                changes = bump(PINS_FILE, partial(head_manifest, registry, timeout=timeout))
            except RuntimeError as error:
                print(f"imagepath pin: nothing changed: {error}", file=sys.stderr)
                return 1
            print("\n".join(changes) or f"{PINS_FILE.name}: every pin is current")
        case _:
            print(USAGE, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
