"""The load test's settings as Locust options: a flag, a LOADTEST_* variable and a default each.

Locust parses them with its own parser, and a distributed run's master hands them to its workers.
Four are Locust's own options, which LOADTEST_HOST, LOADTEST_USERS, LOADTEST_SPAWN_RATE and
LOADTEST_DURATION set under the names users know: Locust's flags, its LOCUST_* variables and its
config files win over them.
"""

from __future__ import annotations

import os
from argparse import ArgumentTypeError, Namespace
from collections.abc import Callable
from typing import Any

from locust.argument_parser import LocustArgumentParser, get_parser

from loadtest.shapes import MANUAL, SHAPES
from loadtest.users import USER_CLASSES, LinkpulseUser

# Locust's option (its dest) -> the variable that sets it under our name, and our default.
ALIASES = {
    "host": ("LOADTEST_HOST", "http://127.0.0.1:8080"),
    "num_users": ("LOADTEST_USERS", "40"),
    "spawn_rate": ("LOADTEST_SPAWN_RATE", "10"),
    "run_time": ("LOADTEST_DURATION", "1m"),
}


def _at_least(kind: Callable[[str], int | float], low: float) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low:
            raise ArgumentTypeError(f"{text!r}: must be at least {low:g}")
        return value

    return parse


def _base_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ArgumentTypeError(f"{text!r}: expected http://host:port")
    return text.rstrip("/")


def _weight(user: type[LinkpulseUser]) -> str:
    return f"{user.kind()}_weight"


def weight(options: Namespace, user: type[LinkpulseUser]) -> int:
    """The weight OPTIONS give USER's kind (--visitor-weight ...)."""
    value: int = getattr(options, _weight(user))
    return value


def add_options(parser: LocustArgumentParser, **_: Any) -> None:
    """Declare the options on PARSER (Locust's init_command_line_parser event)."""
    # As defaults, not values: whatever Locust reads itself comes first.
    parser.set_defaults(
        **{
            dest: os.environ.get(name, "").strip() or value
            for dest, (name, value) in ALIASES.items()
        }
    )
    group = parser.add_argument_group("linkpulse", "each also set by its LOADTEST_* variable")

    def option(flag: str, default: object, **keywords: Any) -> None:
        """--FLAG, which the variable LOADTEST_FLAG sets too."""
        variable = "LOADTEST_" + flag.upper().replace("-", "_")
        group.add_argument(f"--{flag}", default=default, env_var=variable, **keywords)

    option(
        "shape",
        "ramp",
        choices=[*SHAPES, MANUAL],
        help="load shape (loadtest/shapes.py); manual: Locust's UI or -u/-r/-t decide",
    )
    option(
        "links", 200, type=_at_least(int, 1), help="links each process creates when the run starts"
    )
    option("zipf-exponent", 1.1, type=_at_least(float, 0), help="skew of the links' popularity")
    for user in USER_CLASSES:
        option(
            f"{user.kind()}-weight",
            user.weight,
            dest=_weight(user),
            type=_at_least(int, 0),
            help=f"weight of {user.__name__}; 0 leaves it out, and its gates with it",
        )
    option(
        "prometheus-url",
        "http://127.0.0.1:9090",
        type=_base_url,
        help="where the server side's percentiles come from",
    )
    option("results-dir", "", help="where gates.txt and gates.json go")


def parse(args: list[str]) -> Namespace:
    """The options a Locust started with ARGS (and this environment) will run with.

    For a process that has not imported the locustfile, whose import adds the options itself.
    """
    parser = get_parser()
    add_options(parser)
    parser.prog = "loadtest"
    options: Namespace = parser.parse_args(args)
    return options
