"""Fixtures shared by the config tier's live nginx tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.config.stub_upstream import StubUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[StubUpstream]:
    """A stand-in for web behind the real nginx: answers every request with what it received."""
    stub = StubUpstream()
    stub.start()
    yield stub
    stub.stop()
