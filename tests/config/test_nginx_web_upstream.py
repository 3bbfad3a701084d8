"""How nginx finds web: the keep-alive group under compose, re-resolved replicas on Swarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.nginx_instance import NginxInstance, render_limits


def test_by_default_requests_go_to_the_keepalive_upstream_group(tmp_path: Path) -> None:
    assert render_limits(tmp_path, {}).returncode == 0
    rendered = (tmp_path / "web-upstream.conf").read_text()
    assert "set $linkpulse_web linkpulse_web;" in rendered
    assert "resolver" not in rendered


def test_on_swarm_web_is_resolved_through_docker_dns_every_second(tmp_path: Path) -> None:
    result = render_limits(tmp_path, {"WEB_UPSTREAM_RESOLVE": "tasks.web:8000"})
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "web-upstream.conf").read_text()
    assert "resolver 127.0.0.11 valid=1s ipv6=off;" in rendered
    assert "set $linkpulse_web tasks.web:8000;" in rendered


def test_the_swarm_configuration_passes_nginx_t(tmp_path: Path) -> None:
    edge = NginxInstance(
        tmp_path, upstream_port=1, limits={"WEB_UPSTREAM_RESOLVE": "tasks.web:8000"}
    )
    edge.render()
    result = edge.check()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "value", ["tasks.web", "tasks.web:", ":8000", "tasks.web:80a", "web;evil:80", "a:1:2"]
)
def test_a_malformed_target_stops_nginx_with_one_line(tmp_path: Path, value: str) -> None:
    result = render_limits(tmp_path, {"WEB_UPSTREAM_RESOLVE": value})
    assert result.returncode == 2
    assert result.stderr == (
        f"nginx: WEB_UPSTREAM_RESOLVE='{value}' is not host:port like tasks.web:8000\n"
    )
