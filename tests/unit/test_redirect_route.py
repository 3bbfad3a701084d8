"""The redirect's route is linkpulse.routes.REDIRECT_ROUTE: web serves it, the SLO spec names it."""

from __future__ import annotations

import pytest
from flask import Flask

from linkpulse.routes import REDIRECT_ROUTE
from slo import load_spec
from tests.support.web_app import UNREACHABLE_REDIS_URL, MakeApp


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    # Nothing here sends a request.
    return make_app(REDIS_URL=UNREACHABLE_REDIS_URL)


def test_web_serves_redirects_under_the_route(app: Flask) -> None:
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    assert rules["redirect.follow_link"] == REDIRECT_ROUTE, "web/redirects.py: not REDIRECT_ROUTE"


def test_every_slo_objective_names_a_route_web_serves(app: Flask) -> None:
    # A route web never matches has no series, so its objective would measure nothing.
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for objective in load_spec().objectives:
        assert objective.route in rules, f"slo/objectives.toml: {objective.name}'s route"


def test_the_spec_has_objectives_for_the_redirect_route() -> None:
    spec = load_spec()
    assert spec.error_ratio_limit(REDIRECT_ROUTE) > 0
    assert spec.latency_limit(REDIRECT_ROUTE)[1] > 0
