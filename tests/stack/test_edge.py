"""The public edge: the API and redirects through nginx, and what must not be reachable."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.stack.stack import Stack, running_containers, service_of

pytestmark = pytest.mark.stack


def test_link_created_through_nginx_redirects_and_its_click_is_counted(stack: Stack) -> None:
    target = f"https://example.com/stack/{uuid.uuid4().hex}"
    link = stack.create_link(target)
    assert link["short_url"].endswith(f"/{link['code']}")

    response = stack.click(link["code"])

    assert response.status_code == 302
    assert response.headers["Location"] == target
    stack.wait_for_clicks(link["code"], 1)
    stats = requests.get(f"{stack.app_url}/api/links/{link['code']}/stats", timeout=10).json()
    assert stats["clicks"] == 1
    assert stats["unique_visitors"] == 1


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics?x=1", "/METRICS"])
def test_metrics_of_web_are_not_served_through_nginx(stack: Stack, path: str) -> None:
    response = requests.get(f"{stack.app_url}{path}", timeout=10)

    assert response.status_code == 404
    assert "# TYPE" not in response.text


def test_only_nginx_and_the_loopback_monitoring_uis_publish_ports() -> None:
    published: dict[str, set[str]] = {}
    for container in running_containers():
        for bindings in (container["NetworkSettings"]["Ports"] or {}).values():
            for binding in bindings or []:
                published.setdefault(service_of(container), set()).add(binding["HostIp"])

    # redis, web (its /metrics) and worker (:9101) are reachable from no host port at all.
    assert {"redis", "web", "worker"}.isdisjoint(published)
    loopback_only = ("prometheus", "alertmanager", "alert-sink", "grafana")
    assert set(published) <= {"nginx", *loopback_only}
    for service in loopback_only:
        assert published.get(service, {"127.0.0.1"}) == {"127.0.0.1"}, service
