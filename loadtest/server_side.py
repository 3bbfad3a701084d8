"""The server's own view of a run: p95/p99 from web's Prometheus histograms for the same window.

Locust measures what the client saw, rounded to two significant digits above 100 ms; web's
histogram measures the app alone, interpolated within its buckets. Printed side by side they show
how much of the time was spent outside the app (nginx, the network, the generator).
"""

from __future__ import annotations

import requests

from linkpulse.routes import REDIRECT_ROUTE
from loadtest.gates import REPORTED_QUANTILES
from loadtest.names import CREATE, LINK, REDIRECT, STATS, STATS_PAGE

# Request name -> (method, route template in web's metrics).
ROUTES = {
    REDIRECT: ("GET", REDIRECT_ROUTE),
    CREATE: ("POST", "/api/links"),
    LINK: ("GET", "/api/links/<code>"),
    STATS: ("GET", "/api/links/<code>/stats"),
    STATS_PAGE: ("GET", "/s/<code>"),
}
QUERY = (
    "histogram_quantile({q}, sum by (le) (increase("
    "linkpulse_http_request_duration_seconds_bucket"
    '{{route="{route}", method="{method}"}}[{window}s])))'
)


def server_percentiles(
    prometheus_url: str, window_s: int, at: float
) -> dict[str, tuple[float | None, float | None]]:
    """{request name: (p95 ms, p99 ms)} over the WINDOW_S seconds before AT (unix time).

    Raises requests.RequestException when Prometheus does not answer.
    """
    window = max(window_s, 30)  # a shorter range may hold fewer than two scrapes
    figures: dict[str, tuple[float | None, float | None]] = {}
    with requests.Session() as http:
        for name, (method, route) in ROUTES.items():
            p95, p99 = (
                _query(
                    http,
                    prometheus_url,
                    QUERY.format(q=q, route=route, method=method, window=window),
                    at,
                )
                for q in REPORTED_QUANTILES
            )
            figures[name] = (p95, p99)
    return figures


def _query(http: requests.Session, base: str, promql: str, at: float) -> float | None:
    response = http.get(
        f"{base}/api/v1/query", params={"query": promql, "time": f"{at:.3f}"}, timeout=5
    )
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result or result[0]["value"][1] in ("NaN", "+Inf"):
        return None
    return float(result[0]["value"][1]) * 1000
