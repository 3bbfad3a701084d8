"""Fixtures both swarm tiers share; each test module defines its own `cluster`."""

from __future__ import annotations

import pytest

from tests.swarm.cluster import Cluster, LoadResult, create_links

LINKS = 12


@pytest.fixture(scope="module")
def codes(cluster: Cluster) -> list[str]:
    return create_links(cluster.base_url, LINKS)


@pytest.fixture(scope="module")
def served(codes: list[str]) -> LoadResult:
    """Every request of the module's load loops, for the exactly-once check of the clicks."""
    return LoadResult()
