"""What every generated rule file shares: the alert shape the config tier demands (a severity, a
summary, a description and the runbook of the same name), the template fragments of annotations,
and the YAML writer."""

from __future__ import annotations

from typing import Any

import yaml


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


def alert(
    name: str,
    expr: str,
    *,
    severity: str,
    summary: str,
    description: str,
    for_: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_ is not None:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, **(labels or {})}
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": f"docs/runbooks/{name}.md",
    }
    return rule


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
