"""deploy/probe.py's probes against the real web app (fast path included), a real redis-server and
the real worker's apply step: web measures them in the probe families only, and once the check
is over no probe link, aggregate or click is left for anyone's stats."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from deploy.probe import LINKS, MAX_RATE, ProbeLoad
from tests.integration.test_deploy_smoke import public  # noqa: F401  (a fixture)
from tests.support.web_app import MakeApp
from tests.support.worker_harness import drain, make_worker, total_clicks

pytestmark = pytest.mark.integration


def _samples(app: Flask) -> dict[tuple[str, str, str, str], float]:
    """(sample name, route, method, status) -> value, of web's request counters."""
    text = app.test_client().get("/metrics").get_data(as_text=True)
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in ("linkpulse_http_requests_total", "linkpulse_probe_requests_total"):
                key = (s.name, s.labels["route"], s.labels["method"], s.labels["status"])
                found[key] = s.value
    return found


def _send_until(load: ProbeLoad, count: int) -> None:
    deadline = time.monotonic() + 60
    while load.sent < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"probes sent {load.sent} of {count} in 60 s")
        time.sleep(0.05)


def test_probes_are_measured_apart_and_leave_no_link_aggregate_or_click(
    make_app: MakeApp,
    redis_url: str,
    public: Callable[[Flask], str],  # noqa: F811
) -> None:
    app = make_app()
    url = public(app)
    worker = make_worker(redis_url)
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    users_link = app.test_client().post("/api/links", json={"url": "https://example.org/u"})
    code = users_link.json["code"]  # type: ignore[index]
    assert app.test_client().get(f"/{code}").status_code == 302

    load = ProbeLoad(url)
    assert load.create_links() is None
    assert len(load.links) == LINKS
    load.set_rate(MAX_RATE)
    load.start()
    try:
        _send_until(load, 10)
        load.set_rate(0)  # a pause, so that the worker can catch up
        applied_while_linked = drain(worker)  # probe clicks counted on live probe links
        load.set_rate(MAX_RATE)
        _send_until(load, 30)
    finally:
        load.stop()
    assert load.failed == 0
    assert load.delete_links() == []
    dropped_after = drain(worker)  # the rest find their links deleted

    assert applied_while_linked.applied >= 1
    assert dropped_after.dropped >= 1
    assert [key for key in db.scan_iter("*") if load.token in key] == []
    assert total_clicks(db, code) == 1  # the user's click, and only it

    samples = _samples(app)
    probe, users = "linkpulse_probe_requests_total", "linkpulse_http_requests_total"
    assert samples[(probe, "/<code>", "GET", "302")] == load.sent
    assert samples[(probe, "/api/links", "POST", "201")] == LINKS
    assert samples[(probe, "/api/links/<code>", "DELETE", "204")] == LINKS
    assert samples[(users, "/<code>", "GET", "302")] == 1
    assert samples[(users, "/api/links", "POST", "201")] == 1
    assert (users, "/api/links/<code>", "DELETE", "204") not in samples
