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
    summary="Readiness: Redis answers and takes writes ('degraded': new links refused)",
    responses={200: HealthStatus, 503: ErrorResponse},
)
def readyz() -> Response:
    """503 unless Redis answers and takes writes; 'degraded' past the create memory limit.

    A Redis that answers PING but refuses writes (out of memory) fails every redirect, since
    each one appends a click event: that is not ready. Past CREATE_MEMORY_LIMIT_PERCENT only
    new links are refused and everything else works, so the instance stays in rotation and
    says so.
    """
    store = services().store
    try:
        store.ping()
        takes_writes = store.takes_writes()
        takes_new_links = takes_writes and store.takes_new_links()
    except REDIS_UNAVAILABLE:
        raise ApiError(
            503, "Redis is not reachable", "redis_unavailable", headers=RETRY_SOON
        ) from None
    if not takes_writes:
        raise ApiError(
            503,
            "Redis refuses writes (out of memory or read-only)",
            "redis_refuses_writes",
            headers=RETRY_SOON,
        )
    return jsonify({"status": "ready" if takes_new_links else "degraded"})


@bp.get("/metrics")
def metrics() -> Response:
    """Internal only: nginx does not route it; Prometheus scrapes the container directly."""
    return Response(services().metrics.exposition(), mimetype=CONTENT_TYPE)
