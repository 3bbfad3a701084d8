"""`python -m monitoring`: regenerate the alert rules and the dashboards from code."""

from __future__ import annotations

from monitoring import DASHBOARDS_DIR
from monitoring.generate import generated_files
from monitoring.thresholds import load_thresholds
from slo import load_spec


def main() -> None:
    files = generated_files(load_spec(), load_thresholds())
    for stale in DASHBOARDS_DIR.glob("*.json"):
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
