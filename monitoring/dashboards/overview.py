"""Service overview: is linkpulse meeting its objectives, and RED (rate, errors, duration) per
route. The SLO panels are generated from the spec, like the burn-rate rules."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from monitoring.dashboards.common import (
    USER_ROUTES,
    Query,
    graph,
    new_dashboard,
    numbered,
    single,
    zero_without_requests,
)
from monitoring.slo_rules import error_ratio
from slo import SloSpec

UID = "linkpulse-overview"


def _slo_row(board: dashboard.Dashboard, spec: SloSpec) -> None:
    board.with_row(dashboard.Row("Objectives (slo/objectives.toml)"))
    budget_window = f"{spec.budget_days}d"
    for objective in spec.objectives:
        name = objective.name.replace("_", " ")
        budget = objective.error_budget
        bad_30d = zero_without_requests(f"({error_ratio(objective, budget_window)})")
        bad = {
            window: zero_without_requests(
                f'slo:sli_error:ratio_rate{window}{{slo="{objective.name}"}}'
            )
            for window in ("5m", "1h")
        }
        board.with_panel(
            single(
                f"Error budget left: {name}",
                f"{objective.description}. Share of the {spec.budget_days}-day error budget "
                f"({budget:.2%} of requests may miss) not spent yet, all of it before the first "
                "request; below 0 the objective is missed. Counts only what Prometheus still "
                "holds.",
                "percentunit",
                Query(f"1 - ({bad_30d}) / {budget:g}", "{{job}}"),
                width=4,
                height=8,
            )
        )
        board.with_panel(
            graph(
                f"Bad requests: {name}",
                f"Share of {objective.route} requests missing the objective over 5 minutes and "
                "1 hour (0 while a window holds no request), against the share the objective "
                "allows. Burn-rate alerts compare these windows with multiples of the allowed "
                "line.",
                "percentunit",
                *(Query(expr, window) for window, expr in bad.items()),
                Query(f"vector({budget:g})", "allowed"),
                width=8,
            )
        )


def _red_row(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Requests per route (rate, errors, duration)"))
    requests = f"sum by (route) (rate(linkpulse_http_requests_total{{{USER_ROUTES}}}[5m]))"
    errors = (
        f'sum by (route) (rate(linkpulse_http_requests_total{{{USER_ROUTES}, status=~"5.."}}[5m]))'
    )
    board.with_panel(
        graph(
            "Request rate by route",
            "Requests per second that web answered, by route template (health and metrics "
            "routes left out).",
            "reqps",
            Query("route:linkpulse_http_requests:rate1m", "{{route}}"),
        )
    )
    board.with_panel(
        graph(
            "Server errors by route",
            "Share of each route's requests answered with a 5xx over 5 minutes; 0 while "
            "there are requests and no errors.",
            "percentunit",
            Query(
                f"({errors} or {requests} * 0) / {requests}",
                "{{route}}",
            ),
        )
    )
    board.with_panel(
        graph(
            "Latency p50 / p99 by route",
            "From web's request-duration histogram, over 5 minutes.",
            "s",
            Query("route:linkpulse_http_request_duration_seconds:p99_5m", "p99 {{route}}"),
            Query("route:linkpulse_http_request_duration_seconds:p50_5m", "p50 {{route}}"),
        )
    )
    board.with_panel(
        graph(
            "Redirects by result",
            "Redirect lookups per second: found (302) or not_found (404).",
            "reqps",
            Query("job:linkpulse_redirects:rate1m", "{{result}}"),
            width=6,
        )
    )
    board.with_panel(
        single(
            "Alerts firing",
            "Alerts firing now, all severities (0 when none). Alertmanager's UI lists them.",
            "none",
            Query('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"),
        )
    )


def build(spec: SloSpec) -> object:
    board = new_dashboard(
        UID,
        "linkpulse overview",
        "Is linkpulse meeting its objectives? Error budgets, then rate, errors and duration "
        "per route.",
    )
    _slo_row(board, spec)
    _red_row(board)
    return numbered(board)
