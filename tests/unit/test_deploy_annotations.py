"""Grafana deploy annotations: the body the API gets, and when the tool posts none at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.annotations import DEPLOY_TAG, Annotations, annotation
from deploy.config import GrafanaConfig, parse_config
from deploy.errors import DeployError
from tests.unit.test_deploy_logic import GOOD_CONFIG

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_the_body_carries_the_dashboards_tag_the_event_and_the_short_sha() -> None:
    body = annotation("rollback", SHA, "SLO check failed", 1_764_460_800_000)

    assert body == {
        "time": 1_764_460_800_000,
        "tags": [DEPLOY_TAG, "rollback", "sha:0123456789ab"],
        "text": "rollback 0123456789ab: SLO check failed",
    }


def test_without_a_url_nothing_is_posted() -> None:
    assert Annotations.from_config(None, print) is None
    assert Annotations.from_config(GrafanaConfig(url=""), print) is None


def test_without_the_token_it_says_so_once_and_posts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    said: list[str] = []

    assert Annotations.from_config(GrafanaConfig(url="http://grafana:3000"), said.append) is None
    assert said == ["    grafana: GRAFANA_TOKEN is not set, so no deploy annotations"]


def test_with_url_and_token_it_posts_to_that_grafana(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_GRAFANA", "secret-token")

    poster = Annotations.from_config(
        GrafanaConfig(url="http://127.0.0.1:3000/", token_env="LP_GRAFANA"), print
    )

    assert poster is not None
    assert (poster.url, poster.token) == ("http://127.0.0.1:3000", "secret-token")


def test_an_unreachable_grafana_costs_one_line_not_the_deploy() -> None:
    said: list[str] = []
    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    poster = Annotations("http://127.0.0.1:9", "token", said.append, timeout_s=2)

    poster.post("start", SHA, "deploy by ci")

    assert len(said) == 1
    assert said[0].startswith("    grafana: annotation 'start' not posted:")


def test_the_config_table_is_read_and_checked() -> None:
    text = GOOD_CONFIG + '\n[grafana]\nurl = "https://grafana.example"\n'
    config = parse_config(text, Path("/x/deploy.toml"))
    assert config.grafana == GrafanaConfig(url="https://grafana.example")

    with pytest.raises(DeployError, match=r"\[grafana\] url must start with http"):
        parse_config(GOOD_CONFIG + '\n[grafana]\nurl = "grafana:3000"\n', Path("/x/d.toml"))
    with pytest.raises(DeployError, match=r"\[grafana\]"):
        parse_config(GOOD_CONFIG + '\n[grafana]\ncolour = "red"\n', Path("/x/d.toml"))
