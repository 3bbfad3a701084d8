"""Monitoring as code: the SLO burn-rate rules and the Grafana dashboards, generated.

`python -m monitoring` (make monitoring) writes monitoring/prometheus/rules/slo.yml from the SLO
spec (slo/objectives.toml) and monitoring/grafana/dashboards/*.json from the dashboard modules.
Both outputs are committed; tests/unit/test_monitoring_generated.py fails when regenerating
them would change them.
"""

from __future__ import annotations

from pathlib import Path

MONITORING_DIR = Path(__file__).resolve().parent
SLO_RULES_FILE = MONITORING_DIR / "prometheus" / "rules" / "slo.yml"
DASHBOARDS_DIR = MONITORING_DIR / "grafana" / "dashboards"
