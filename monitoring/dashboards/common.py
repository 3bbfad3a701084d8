"""Panel helpers over Grafana's SDK that make the project's rules hard to break: every panel
gets a unit and a description, every query the provisioned datasource by its fixed uid, every
dashboard a stable uid, the deploy annotations and the same time settings."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TypeVar

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# Fixed in monitoring/grafana/provisioning/datasources/linkpulse.yml: never a ${DS_...} input.
PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid="linkpulse-prometheus")
GRAFANA = model.DataSourceRef(type_val="grafana", uid="-- Grafana --")
# The tag the deploy tool gives the annotations it posts (start, finish, rollback).
DEPLOY_TAG = "linkpulse-deploy"
# User routes: health and metrics routes are called on a timer and would dilute every ratio.
USER_ROUTES = 'route!~"/metrics|/healthz|/readyz"'
REF_IDS = string.ascii_uppercase


def zero_without_requests(ratio: str) -> str:
    """A share of requests that is 0, not "No data", while there are no requests: the ratio
    has no series before the first one and is NaN (0/0) once a window holds none. `on ()`
    adds the 0 only when no series is left, never beside a real one."""
    return f"({ratio} >= 0) or on () vector(0)"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


PanelT = TypeVar("PanelT", timeseries.Panel, stat.Panel, table.Panel)


@dataclass(frozen=True)
class Frame:
    """What every panel must say (title, description, unit) and its size."""

    title: str
    description: str
    unit: str
    width: int
    height: int


def _framed(panel: PanelT, frame: Frame) -> PanelT:
    return (
        panel.title(frame.title)
        .description(frame.description)
        .unit(frame.unit)
        .datasource(PROMETHEUS)
        .span(frame.width)
        .height(frame.height)
    )


def _target(ref_id: str, query: Query) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref_id).datasource(PROMETHEUS)
    if query.legend:
        target.legend_format(query.legend)
    return target


def graph(
    title: str, description: str, unit: str, *queries: Query, width: int = 12, height: int = 8
) -> timeseries.Panel:
    panel = _framed(timeseries.Panel(), Frame(title, description, unit, width, height))
    for ref_id, query in zip(REF_IDS, queries, strict=False):
        panel.with_target(_target(ref_id, query))
    return panel


def single(
    title: str, description: str, unit: str, *queries: Query, width: int = 6, height: int = 5
) -> stat.Panel:
    panel = _framed(stat.Panel(), Frame(title, description, unit, width, height))
    for ref_id, query in zip(REF_IDS, queries, strict=False):
        panel.with_target(_target(ref_id, query).instant())
    return panel


def listing(
    title: str, description: str, unit: str, query: Query, *, width: int = 12, height: int = 8
) -> table.Panel:
    panel = _framed(table.Panel(), Frame(title, description, unit, width, height))
    panel.with_target(_target("A", query).instant().format(PromQueryFormat.TABLE))
    return panel


class PrometheusAnnotation(cogbuilder.Builder[model.AnnotationQuery]):
    """An annotation from a PromQL query. The SDK's AnnotationQuery has no fields for how
    Prometheus annotations are titled; this adds them to its JSON."""

    def __init__(self, name: str, expr: str, *, color: str, title: str, text: str, tags: str):
        self._internal = _PromAnnotationQuery(
            name=name, datasource=PROMETHEUS, enable=True, icon_color=color, expr=expr
        )
        self._internal.extra = {
            "step": "30s",
            "titleFormat": title,
            "textFormat": text,
            "tagKeys": tags,
            "useValueForTime": False,
        }

    def build(self) -> model.AnnotationQuery:
        return self._internal


class _PromAnnotationQuery(model.AnnotationQuery):
    extra: dict[str, object]

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.extra}


def deploys_from_data() -> PrometheusAnnotation:
    """A (job, version, revision) that reports now but reported nothing in the minute before
    the last one: a replica of a new build started. Needs no Grafana token."""
    builds = "count by (job, version, revision)"
    expr = (
        f"{builds} (linkpulse_build_info) unless "
        f"{builds} (max_over_time(linkpulse_build_info[1m] offset 1m))"
    )
    return PrometheusAnnotation(
        "Deploys",
        expr,
        color="blue",
        title="Deploy {{job}} {{version}}",
        text="revision {{revision}}",
        tags="job,version,revision",
    )


def deploy_tool_annotations() -> dashboard.AnnotationQuery:
    """What the deploy tool posts through Grafana's annotation API (start, finish, rollback)."""
    return (
        dashboard.AnnotationQuery()
        .name("Deploy tool")
        .datasource(GRAFANA)
        .enable(True)
        .icon_color("purple")
        .type("tags")
        .target(
            dashboard.AnnotationTarget().type("tags").tags([DEPLOY_TAG]).match_any(True).limit(100)
        )
    )


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["linkpulse"])
        .readonly()
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .annotation(deploys_from_data())
        .annotation(deploy_tool_annotations())
    )


def numbered(board: dashboard.Dashboard) -> model.Dashboard:
    """The built dashboard with panel ids 1, 2, ... in layout order (stable across runs)."""
    built = board.build()
    for panel_id, panel in enumerate(built.panels or [], start=1):
        panel.id_val = panel_id
    return built
