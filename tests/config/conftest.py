"""Fixtures shared by the config tier's live nginx tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.config.nginx_instance import NginxInstance
from tests.config.stub_upstream import StubUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[StubUpstream]:
    """A stand-in for web behind the real nginx: answers every request with what it received."""
    stub = StubUpstream()
    stub.start()
    yield stub
    stub.stop()


@pytest.fixture
def make_edge(tmp_path: Path, upstream: StubUpstream) -> Iterator[Callable[..., NginxInstance]]:
    """Starts the real nginx in front of the stub with the given render-limits.sh settings."""
    started: list[NginxInstance] = []

    def start(**settings: str) -> NginxInstance:
        instance = NginxInstance(tmp_path / f"nginx{len(started)}", upstream.port, limits=settings)
        instance.render()
        instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
