"""The JSON API under /api (see the table in docs/architecture.md)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel

from web import codes, tokens, use_cases
from web.errors import ApiError
from web.extensions import services
from web.openapi import DocumentedBlueprint, build_openapi
from web.schemas import (
    CreateLinkRequest,
    DailyClicks,
    LinkCreated,
    LinkInfo,
    LinkStats,
    ReferrerClicks,
)
from web.use_cases import create_link
from web.validation import json_body

bp = DocumentedBlueprint("api", __name__, url_prefix="/api")


def model_response(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def _not_found(code: str) -> ApiError:
    return ApiError(404, f"no link with code {code!r}")


@bp.operation(
    "POST",
    "/links",
    summary="Create a short link",
    request=CreateLinkRequest,
    responses={201: LinkCreated},
    errors=(400, 409, 413, 415, 422, 429),
)
def create() -> Response:
    created = create_link(json_body(CreateLinkRequest))
    response = model_response(created, 201)
    response.headers["Location"] = f"/api/links/{created.code}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.operation(
    "GET",
    "/links/<code>",
    summary="A link and its total clicks (never its manage token)",
    responses={200: LinkInfo},
    errors=(404, 429),
)
def read(code: str) -> Response:
    found = services().store.get(code, use_cases.now_ms()) if codes.looks_like_code(code) else None
    if found is None:
        raise _not_found(code)
    link, clicks = found
    return model_response(
        LinkInfo(
            code=link.code,
            short_url=services().settings.short_url(link.code),
            url=link.url,
            created_at=link.created_at,
            expires_at=link.expires_at,
            clicks=clicks,
        )
    )


@bp.operation(
    "GET",
    "/links/<code>/stats",
    summary="Clicks, unique visitors, last 30 days and top referrers",
    responses={200: LinkStats},
    errors=(404, 429),
)
def stats(code: str) -> Response:
    found = (
        services().store.stats(code, use_cases.now_ms()) if codes.looks_like_code(code) else None
    )
    if found is None:
        raise _not_found(code)
    return model_response(
        LinkStats(
            code=code,
            clicks=found.clicks,
            unique_visitors=found.unique_visitors,
            daily=[DailyClicks(date=day, clicks=count) for day, count in found.daily],
            referrers=[
                ReferrerClicks(referrer=host, clicks=count) for host, count in found.referrers
            ],
        )
    )


@bp.operation(
    "DELETE",
    "/links/<code>",
    summary="Delete a link and its statistics",
    responses={204: None},
    errors=(401, 403, 404, 429),
    security=True,
)
def delete(code: str) -> Response:
    token = tokens.bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise ApiError(
            401,
            "send the manage token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    outcome = services().store.delete(code, token) if codes.looks_like_code(code) else None
    if outcome is None:
        raise _not_found(code)
    if outcome is False:
        raise ApiError(403, "the manage token does not match this link")
    no_content = Response(status=204)
    del no_content.headers["Content-Type"]  # nothing follows, so there is no type to name
    return no_content


@bp.operation(
    "GET",
    "/openapi.json",
    summary="This API's OpenAPI 3.1 description",
    responses={200: "application/json"},
)
def openapi() -> Response:
    settings = services().settings
    return jsonify(
        build_openapi(
            current_app,
            title="linkpulse",
            version=settings.app_version,
            server_url=settings.public_base_url,
        )
    )
