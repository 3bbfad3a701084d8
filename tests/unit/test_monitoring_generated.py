"""The committed SLO rules and dashboards are exactly what the code generates from the spec."""

from __future__ import annotations

from monitoring import SLO_RULES_FILE
from monitoring.slo_rules import render
from slo import load_spec

REGENERATE = "regenerate with `make monitoring` and commit the result"


def test_committed_slo_rules_match_the_spec() -> None:
    assert SLO_RULES_FILE.read_text() == render(load_spec()), f"{SLO_RULES_FILE}: {REGENERATE}"
