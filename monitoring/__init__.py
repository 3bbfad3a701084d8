"""Monitoring as code: the alert rules and the Grafana dashboards, generated.

`python -m monitoring` (make monitoring) writes monitoring/prometheus/rules/slo.yml from the SLO
spec (slo/objectives.toml), the other alert rule files from monitoring/alerts/ with the numbers
of monitoring/thresholds.toml, and monitoring/grafana/dashboards/*.json from the dashboard
modules, whose descriptions quote the same numbers. Only rules/recording.yml, which has no
thresholds, is written by hand. The outputs are committed; tests/unit/test_monitoring_generated.py
fails when regenerating them would change them.
"""

from __future__ import annotations

from pathlib import Path

MONITORING_DIR = Path(__file__).resolve().parent
RULES_DIR = MONITORING_DIR / "prometheus" / "rules"
SLO_RULES_FILE = RULES_DIR / "slo.yml"
DASHBOARDS_DIR = MONITORING_DIR / "grafana" / "dashboards"
