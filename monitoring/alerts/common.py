"""What every generated rule file shares: the alert shape the config tier demands (a severity, a
summary, a description and the runbook of the same name), the template fragments of annotations,
and the YAML writer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import yaml

from monitoring.thresholds import Thresholds


def label(name: str) -> str:
    """An alert label in an annotation: "{{ $labels.job }}"."""
    return f"{{{{ $labels.{name} }}}}"


VALUE = "{{ $value | humanize }}"
VALUE_PERCENT = "{{ $value | humanizePercentage }}"
VALUE_DURATION = "{{ $value | humanizeDuration }}"


def literal(number: float) -> str:
    """A threshold as PromQL reads it: 50000, not 50000.0 or 5e+04."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def increased(series: str, window: str) -> str:
    """Any event of a counter in the window, per job: one is enough to fire."""
    return f"sum by (job) (increase({series}[{window}]))\n> 0\n"


@dataclass(frozen=True)
class Alert:
    """One alerting rule as the config tier demands it: a severity, a summary, a description and
    the runbook of the same name. Its `for:` is not here: `group` takes it from the thresholds'
    table of the same name."""

    name: str
    expr: str
    _: KW_ONLY
    severity: str
    summary: str
    description: str
    labels: dict[str, str] = field(default_factory=dict)

    def rule(self, thresholds: Thresholds) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if (for_ := thresholds.waits(self.name)) is not None:
            rule["for"] = for_
        rule["labels"] = {"severity": self.severity, **self.labels}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"docs/runbooks/{self.name}.md",
        }
        return rule


def group(name: str, thresholds: Thresholds, alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    """A rule file's one group of ALERTS."""
    return [{"name": name, "rules": [alert.rule(thresholds) for alert in alerts]}]


class _Dumper(yaml.SafeDumper):
    """PromQL over several lines as literal blocks and long prose folded, so that a generated
    file reads like a hand-written one."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Longer strings (descriptions) are folded onto lines of the dump's width.
_FOLD_FROM = 80


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else ">" if len(value) > _FOLD_FROM else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(header: str, groups: list[dict[str, Any]]) -> str:
    body = yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=100)
    return header + body
