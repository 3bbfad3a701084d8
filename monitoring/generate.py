"""Every generated file of the monitoring, from the SLO spec and the alert thresholds."""

from __future__ import annotations

from pathlib import Path

from monitoring import DASHBOARDS_DIR, RULES_DIR, SLO_RULES_FILE, alerts, slo_rules
from monitoring.dashboards import dashboards, render
from monitoring.thresholds import Thresholds
from slo import SloSpec


def generated_files(spec: SloSpec, thresholds: Thresholds) -> dict[Path, str]:
    """Path -> text of every rule file but recording.yml, and of every dashboard."""
    files = {SLO_RULES_FILE: slo_rules.render(spec)}
    files |= {RULES_DIR / name: text for name, text in alerts.rule_files(thresholds).items()}
    files |= {
        DASHBOARDS_DIR / f"{name}.json": render(board)
        for name, board in dashboards(spec, thresholds).items()
    }
    return files
