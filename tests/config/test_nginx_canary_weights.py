"""A canary's share of requests, as the real nginx splits them by the upstream weights the deploy
tool renders (deploy/nginx_weights.py): one client on new connections, as the rehearsal's load
loop, sees the configured share within a few points."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests

from deploy.nginx_weights import render_split
from tests.config.nginx_instance import NginxInstance
from tests.config.stub_upstream import StubUpstream

REQUESTS = 400


@pytest.mark.parametrize("percent", [10, 50])
def test_one_client_sees_the_canary_share_it_was_given(tmp_path: Path, percent: int) -> None:
    old, new = StubUpstream(), StubUpstream()
    old.start()
    new.start()
    edge = NginxInstance(tmp_path, old.port, limits={"RATE_LIMIT_EXEMPT": "127.0.0.1"})
    edge.render()
    upstream = render_split(["old"], ["new"], percent)
    upstream = upstream.replace("old:8000", f"127.0.0.1:{old.port}")
    (tmp_path / "upstream.d" / "web.conf").write_text(
        upstream.replace("new:8000", f"127.0.0.1:{new.port}")
    )
    edge.start()
    try:
        served: Counter[int] = Counter()
        for _ in range(REQUESTS):
            response = requests.get(
                f"{edge.base_url}/api/links/abc/stats", headers={"Connection": "close"}, timeout=5
            )
            assert response.status_code == 200, response.text
            served[response.json()["server_port"]] += 1
    finally:
        edge.stop()
        old.stop()
        new.stop()
    share = served[new.port] / REQUESTS * 100
    assert abs(share - percent) <= 3, f"{share:.1f} % to the canary, configured {percent} %"
