"""The planned Redis restart's steps (deploy/redis_upgrade.py) against a scripted Redis: refused
without AOF before anything restarts, and its figures as printed. The stack tier runs it for real
under load (tests/stack/test_redis_upgrade.py)."""

from __future__ import annotations

import itertools

import pytest

from deploy.errors import DeployError
from deploy.redis_upgrade import NO_AOF, restart


class ScriptedRedis:
    def __init__(self, appendonly: str = "yes", loading_answers: int = 2) -> None:
        self.appendonly = appendonly
        self.images = ["redis:8.0.2"]
        self.keys = 41
        self.recreated = 0
        self.down = 0
        self.loading_answers = loading_answers

    def cli(self, *args: str) -> str:
        if self.down:
            self.down -= 1
            return "LOADING Redis is loading the dataset in memory" if self.down % 2 else ""
        if args[:2] == ("CONFIG", "GET"):
            return f"appendonly\n{self.appendonly}\n"
        assert args == ("DBSIZE",), args
        return f"{self.keys}\n"

    def image(self) -> str:
        return self.images[-1]

    def recreate(self) -> None:
        self.recreated += 1
        self.down = self.loading_answers
        self.images.append("redis:8.0.3")
        self.keys += 1  # a write acknowledged just before the SIGTERM


def test_a_restart_waits_for_the_reloaded_server_and_prints_its_figures() -> None:
    redis = ScriptedRedis(loading_answers=3)
    said: list[str] = []
    ticks = itertools.count(step=0.5)
    done = restart(redis, said.append, clock=lambda: next(ticks))
    assert redis.recreated == 1
    assert (done.keys_before, done.keys_after) == (41, 42)
    assert said[1:] == [
        "redis: image redis:8.0.2 -> redis:8.0.3",
        "redis: 41 keys before, 42 after (AOF reloaded)",
        f"redis: answered again {done.gap_s:.1f}s after the restart began",
    ]


def test_without_aof_it_refuses_in_one_line_and_restarts_nothing() -> None:
    redis = ScriptedRedis(appendonly="no")
    with pytest.raises(DeployError) as refused:
        restart(redis, lambda line: None)
    assert str(refused.value) == NO_AOF
    assert redis.recreated == 0


def test_a_redis_that_does_not_answer_is_one_line_and_nothing_restarts() -> None:
    redis = ScriptedRedis()
    redis.down = 1  # its one answer: nothing
    with pytest.raises(DeployError, match="redis does not answer: nothing to upgrade"):
        restart(redis, lambda line: None)
    assert redis.recreated == 0
