"""`python -m monitoring`: regenerate the SLO rules and the dashboards from code."""

from __future__ import annotations

from monitoring import SLO_RULES_FILE
from monitoring.slo_rules import render
from slo import load_spec


def main() -> None:
    SLO_RULES_FILE.write_text(render(load_spec()))
    print(f"wrote {SLO_RULES_FILE}")


if __name__ == "__main__":
    main()
