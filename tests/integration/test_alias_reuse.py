"""Web and worker together: a deleted alias taken again starts from zero clicks."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.worker_harness import drain, make_worker

pytestmark = pytest.mark.integration


def test_queued_clicks_of_a_deleted_link_do_not_count_for_its_successor(
    redis_url: str, client: FlaskClient
) -> None:
    body = {"url": "https://example.org/first", "alias": "reused"}
    token = client.post("/api/links", json=body).get_json()["manage_token"]
    for _ in range(3):
        assert client.get("/reused").status_code == 302
    auth = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/links/reused", headers=auth).status_code == 204
    body = {"url": "https://example.org/second", "alias": "reused"}
    assert client.post("/api/links", json=body).status_code == 201
    assert client.get("/reused").status_code == 302

    # Only now does the worker see the four queued clicks.
    drain(make_worker(redis_url))

    stats = client.get("/api/links/reused/stats").get_json()
    assert (stats["clicks"], stats["unique_visitors"]) == (1, 1)
