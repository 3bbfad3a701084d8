"""Endpoints for the platform: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Response, jsonify

from web.errors import REDIS_UNAVAILABLE, RETRY_SOON, ApiError
from web.extensions import services
from web.metrics import CONTENT_TYPE
from web.openapi import DocumentedBlueprint
from web.schemas import ErrorResponse, HealthStatus

bp = DocumentedBlueprint("ops", __name__)


@bp.operation(
    "GET", "/healthz", summary="Liveness: the process answers", responses={200: HealthStatus}
)
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.operation(
    "GET",
    "/readyz",
    summary="Readiness: Redis answers",
    responses={200: HealthStatus, 503: ErrorResponse},
)
def readyz() -> Response:
    try:
        services().store.ping()
    except REDIS_UNAVAILABLE:
        raise ApiError(
            503, "Redis is not reachable", "redis_unavailable", headers=RETRY_SOON
        ) from None
    return jsonify({"status": "ready"})


@bp.get("/metrics")
def metrics() -> Response:
    """Internal only: nginx does not route it; Prometheus scrapes the container directly."""
    return Response(services().metrics.exposition(), mimetype=CONTENT_TYPE)
