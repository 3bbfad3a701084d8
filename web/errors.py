"""One error shape for the API, HTML error pages for people, never a traceback.

Views raise `ApiError` (or let werkzeug raise its HTTPExceptions); the handlers here turn
anything raised into `{"error": {"code", "message"}}` under /api and on ops routes, and into
a short HTML page elsewhere.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Redis errors that mean "cannot serve this right now" (unreachable, failing over, out of
# memory): worth a 503 and a retry, not a 500.
REDIS_UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "validation_error",
    429: "rate_limited",
    431: "header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}
# What a 503 for an unavailable Redis tells clients (and load balancers) to do.
RETRY_SOON = {"Retry-After": "1"}
_JSON_PATH_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")


def error_code_for(status: int) -> str:
    """The envelope's snake_case code for an HTTP status."""
    return _CODES.get(status, "error")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or error_code_for(status)
        self.message = message
        self.field = field
        self.headers = headers or {}


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith(_JSON_PATH_PREFIXES)


def error_response(error: ApiError) -> Response:
    detail: dict[str, str] = {"code": error.code, "message": error.message}
    if error.field is not None:
        detail["field"] = error.field
    if wants_json():
        response = jsonify({"error": detail})
    else:
        response = Response(
            render_template("error.html", status=error.status, message=error.message),
            mimetype="text/html",
        )
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 404 and not wants_json():
        return Response(render_template("not_found.html"), status=404, mimetype="text/html")
    message = {
        404: f"no route for {request.path}",
        405: f"{request.method} is not allowed on {request.path}",
        413: "request body is too large",
    }.get(status, exc.description or exc.name)
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(ApiError(status, message, headers=headers))


def _from_redis_unavailable(exc: Exception) -> Response:
    log.warning("redis unavailable", extra={"error": repr(exc)})
    return error_response(
        ApiError(503, "storage is temporarily unavailable, retry shortly", headers=RETRY_SOON)
    )


def _from_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(ApiError(500, "internal error"))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _from_http_exception)
    for exc_type in REDIS_UNAVAILABLE:
        app.register_error_handler(exc_type, _from_redis_unavailable)
    app.register_error_handler(Exception, _from_unexpected)
