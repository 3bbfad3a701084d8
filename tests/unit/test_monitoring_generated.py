"""The committed SLO rules and dashboards are exactly what the code generates from the spec."""

from __future__ import annotations

from monitoring import DASHBOARDS_DIR, SLO_RULES_FILE
from monitoring.dashboards import dashboards, render
from monitoring.slo_rules import render as render_rules
from slo import load_spec

REGENERATE = "regenerate with `make monitoring` and commit the result"


def test_committed_slo_rules_match_the_spec() -> None:
    assert SLO_RULES_FILE.read_text() == render_rules(load_spec()), (
        f"{SLO_RULES_FILE}: {REGENERATE}"
    )


def test_committed_dashboards_match_the_code() -> None:
    generated = {name: render(board) for name, board in dashboards(load_spec()).items()}
    committed = {path.stem: path.read_text() for path in DASHBOARDS_DIR.glob("*.json")}
    assert sorted(committed) == sorted(generated), REGENERATE
    for name, text in generated.items():
        assert committed[name] == text, f"{name}.json: {REGENERATE}"
