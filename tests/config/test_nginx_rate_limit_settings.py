"""Rate limits as settings: rendered from RATE_LIMIT_* by the image's entrypoint, read by nginx."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.config.nginx_instance import NginxInstance, render_limits


def _post_until_limited(base_url: str, attempts: int) -> list[int]:
    statuses: list[int] = []
    with requests.Session() as session:
        while len(statuses) < attempts and 429 not in statuses:
            statuses.append(session.post(f"{base_url}/api/links", data="{}", timeout=5).status_code)
    return statuses


def test_defaults_are_as_strict_as_before(tmp_path: Path) -> None:
    assert render_limits(tmp_path, {}).returncode == 0
    http = (tmp_path / "limits-http.conf").read_text()
    assert "zone=api_write:10m rate=20r/s" in http
    assert "zone=api_read:10m rate=100r/s" in http
    assert "zone=pages:10m rate=300r/s" in http
    assert "default 0;\n}" in http  # nobody exempt
    assert "burst=100 nodelay" in (tmp_path / "limits-api.conf").read_text()
    assert "burst=400 nodelay" in (tmp_path / "limits-api.conf").read_text()
    assert "burst=600 nodelay" in (tmp_path / "limits-pages.conf").read_text()


def test_an_empty_setting_means_the_default(tmp_path: Path) -> None:
    """How compose passes a setting .env leaves out (docker-compose.yml: ${RATE_LIMIT_X:-})."""
    unset, empty = tmp_path / "unset", tmp_path / "empty"
    names = ["WRITE", "WRITE_BURST", "READ", "READ_BURST", "PAGES", "PAGES_BURST", "EXEMPT"]
    assert render_limits(unset, {}).returncode == 0
    assert render_limits(empty, {f"RATE_LIMIT_{name}": "" for name in names}).returncode == 0
    for rendered in ("limits-http.conf", "limits-api.conf", "limits-pages.conf"):
        assert (empty / rendered).read_text() == (unset / rendered).read_text(), rendered


def test_a_flood_from_an_address_not_exempt_gets_429(
    make_edge: Callable[..., NginxInstance],
) -> None:
    edge = make_edge(RATE_LIMIT_EXEMPT="10.0.0.0/8, 192.0.2.7/32")

    statuses = _post_until_limited(edge.base_url, 2_000)

    assert statuses[-1] == 429


def test_an_exempt_generator_is_never_limited(make_edge: Callable[..., NginxInstance]) -> None:
    edge = make_edge(RATE_LIMIT_EXEMPT="10.0.0.0/8,127.0.0.1/32")

    statuses = _post_until_limited(edge.base_url, 1_000)
    with requests.Session() as session:
        pages = {
            session.get(f"{edge.base_url}/abc123", timeout=5).status_code for _ in range(1_000)
        }

    assert statuses == [200] * 1_000  # ten times the write burst, none refused
    assert pages == {200}


def _forwarded_quota_exemption(edge: NginxInstance, claimed: str | None) -> str:
    headers = {} if claimed is None else {"X-Edge-Quota-Exempt": claimed}
    response = requests.post(f"{edge.base_url}/api/links", data="{}", headers=headers, timeout=5)
    exemption: str = response.json()["headers"]["X-Edge-Quota-Exempt"]
    return exemption


def test_nginx_tells_web_which_clients_are_exempt_from_the_creation_quota(
    make_edge: Callable[..., NginxInstance],
) -> None:
    """web's creation quota spares RATE_LIMIT_EXEMPT clients by this header (web/quotas.py)."""
    limited = make_edge(RATE_LIMIT_EXEMPT="10.0.0.0/8")
    exempt = make_edge(RATE_LIMIT_EXEMPT="10.0.0.0/8,127.0.0.1/32")

    assert _forwarded_quota_exemption(limited, None) == "0"
    # A client cannot exempt itself: nginx replaces whatever it claims.
    assert _forwarded_quota_exemption(limited, "1") == "0"
    assert _forwarded_quota_exemption(exempt, None) == "1"
    assert _forwarded_quota_exemption(exempt, "0") == "1"


def test_a_lower_burst_setting_limits_sooner(make_edge: Callable[..., NginxInstance]) -> None:
    edge = make_edge(RATE_LIMIT_WRITE="1r/m", RATE_LIMIT_WRITE_BURST="3")

    statuses = _post_until_limited(edge.base_url, 100)

    assert statuses == [200, 200, 200, 200, 429]  # one at the rate, three of burst


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("RATE_LIMIT_WRITE", "20", "RATE_LIMIT_WRITE='20' is not a rate like 20r/s"),
        ("RATE_LIMIT_READ", "fast", "RATE_LIMIT_READ='fast' is not a rate"),
        ("RATE_LIMIT_PAGES_BURST", "-1", "RATE_LIMIT_PAGES_BURST='-1' is not a whole number"),
        ("RATE_LIMIT_EXEMPT", "10.0.0.0/8,everyone", "entry 'everyone' is not an address or CIDR"),
        ("RATE_LIMIT_EXEMPT", "10.0.0.0/", "entry '10.0.0.0/' is not an address or CIDR"),
    ],
)
def test_a_malformed_setting_is_refused_with_its_name(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    result = render_limits(tmp_path, {setting: value})

    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "limits-http.conf").exists()
