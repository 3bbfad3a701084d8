"""`python -m swarm [COMPOSE_CONFIG_JSON]`: the stack file for `docker stack deploy` on stdout.

Input is `docker compose -f docker-compose.yml -f docker-compose.swarm.yml config --format json`
(a file, or stdin when no file is given); images stay as that config names them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from swarm.render import RenderError, stack_file


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python -m swarm [COMPOSE_CONFIG_JSON]", file=sys.stderr)
        return 2
    try:
        text = Path(argv[0]).read_text() if argv else sys.stdin.read()
        config = json.loads(text)
        if not isinstance(config, dict) or not isinstance(config.get("services"), dict):
            raise RenderError("the input is not `docker compose config --format json` output")
        rendered = stack_file(config, lambda image: image)
    except OSError as exc:
        print(f"swarm: cannot read {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"swarm: the input is not JSON: {exc.msg} at line {exc.lineno}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"swarm: {exc}", file=sys.stderr)
        return 2
    json.dump(rendered, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
