"""`python -m monitoring`: regenerate the SLO rules and the dashboards from code."""

from __future__ import annotations

from monitoring import DASHBOARDS_DIR, SLO_RULES_FILE, slo_rules
from monitoring.dashboards import dashboards, render
from slo import load_spec


def main() -> None:
    spec = load_spec()
    SLO_RULES_FILE.write_text(slo_rules.render(spec))
    print(f"wrote {SLO_RULES_FILE}")
    for stale in DASHBOARDS_DIR.glob("*.json"):
        stale.unlink()
    for name, dashboard in dashboards(spec).items():
        path = DASHBOARDS_DIR / f"{name}.json"
        path.write_text(render(dashboard))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
