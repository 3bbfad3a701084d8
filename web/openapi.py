"""OpenAPI 3.1 from the routes themselves.

API views are registered through `DocumentedBlueprint.operation`, which records the method,
path and the pydantic models that the view validates and returns. `build_openapi` turns
those records plus pydantic's JSON schema (draft 2020-12, which OpenAPI 3.1 uses) into the
spec; there is no second, hand-written description to fall out of date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from flask import Blueprint, Flask
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from web.schemas import ErrorResponse

# A response body: a JSON schema model, a non-JSON media type such as "text/html", or None.
Body = type[BaseModel] | str | None
View = Callable[..., ResponseReturnValue]

_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Every API call can meet these, whatever the route.
COMMON_ERRORS = (500, 503)
Refs = Mapping[tuple[Any, JsonSchemaMode], Any]


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    summary: str
    request: type[BaseModel] | None
    responses: Mapping[int, Body]
    errors: tuple[int, ...] = ()
    security: bool = False
    tags: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return _PATH_PARAM.sub(r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.rule)


class DocumentedBlueprint(Blueprint):
    """A Blueprint whose routes are described as it registers them."""

    def __init__(self, name: str, import_name: str, **kwargs: Any) -> None:
        super().__init__(name, import_name, **kwargs)
        self.operations: list[Operation] = []

    def operation(
        self,
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"],
        rule: str,
        *,
        summary: str,
        responses: Mapping[int, Body],
        request: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
        security: bool = False,
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            self.add_url_rule(rule, view_func=view, methods=[method])
            self.operations.append(
                Operation(
                    method=method,
                    rule=(self.url_prefix or "") + rule,
                    summary=summary,
                    request=request,
                    responses=responses,
                    errors=errors,
                    security=security,
                    tags=(self.name,),
                )
            )
            return view

        return register


def registered_operations(app: Flask) -> list[Operation]:
    return [
        operation
        for blueprint in app.blueprints.values()
        if isinstance(blueprint, DocumentedBlueprint)
        for operation in blueprint.operations
    ]


def build_openapi(app: Flask, *, title: str, version: str, server_url: str) -> dict[str, Any]:
    operations = registered_operations(app)
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for operation in operations:
        if operation.request is not None:
            wanted.append((operation.request, "validation"))
        wanted.extend(
            (body, "serialization")
            for body in operation.responses.values()
            if isinstance(body, type) and issubclass(body, BaseModel)
        )
    refs, definitions = models_json_schema(
        list(dict.fromkeys(wanted)), ref_template="#/components/schemas/{model}"
    )

    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _describe(operation, refs)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }
    if any(operation.security for operation in operations):
        spec["components"]["securitySchemes"] = {
            "manageToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The manage_token returned once when the link was created.",
            }
        }
    return spec


def _describe(operation: Operation, refs: Refs) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in operation.responses.items():
        responses[str(status)] = _response(status, body, refs)
    common = COMMON_ERRORS if operation.rule.startswith("/api/") else ()
    for status in (*operation.errors, *common):
        responses.setdefault(str(status), _response(status, ErrorResponse, refs))
    described: dict[str, Any] = {
        "summary": operation.summary,
        "operationId": _operation_id(operation),
        "tags": list(operation.tags),
        "responses": responses,
    }
    if operation.path_params:
        described["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in operation.path_params
        ]
    if operation.request is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(operation.request, "validation")]}},
        }
    if operation.security:
        described["security"] = [{"manageToken": []}]
    return described


def _response(status: int, body: Body, refs: Refs) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if isinstance(body, str):
        response["content"] = {body: {"schema": {"type": "string"}}}
    elif body is not None:
        response["content"] = {"application/json": {"schema": refs[(body, "serialization")]}}
    return response


def _operation_id(operation: Operation) -> str:
    words = re.findall(r"[A-Za-z0-9]+", operation.path)
    return "_".join([operation.method.lower(), *words]) or operation.method.lower()
