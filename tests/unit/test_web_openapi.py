"""The spec is generated from the route registry and the schemas the views validate with."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.web_app import UNREACHABLE_REDIS_URL, MakeApp
from web.openapi import build_openapi
from web.schemas import CreateLinkRequest

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    # No request here reaches Redis.
    return make_app(REDIS_URL=UNREACHABLE_REDIS_URL)


@pytest.fixture
def spec(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_it_is_an_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "linkpulse"
    assert spec["servers"] == [{"url": "https://sho.rt"}]
    json.dumps(spec)  # plain JSON all the way down


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    refs = set(_refs(spec))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas


def test_every_api_route_of_the_app_is_described(app: Flask, spec: dict[str, Any]) -> None:
    served = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) & {m.upper() for m in METHODS}
    }
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }
    assert served
    assert served <= described
    for path in ("/{code}", "/healthz", "/readyz"):
        assert "get" in spec["paths"][path]


def test_api_table_rows_have_their_success_statuses(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert "201" in paths["/api/links"]["post"]["responses"]
    assert "302" in paths["/{code}"]["get"]["responses"]
    assert "200" in paths["/api/links/{code}"]["get"]["responses"]
    assert "200" in paths["/api/links/{code}/stats"]["get"]["responses"]
    delete = paths["/api/links/{code}"]["delete"]
    assert {"204", "401", "403", "404"} <= set(delete["responses"])
    assert delete["security"] == [{"manageToken": []}]
    assert spec["components"]["securitySchemes"]["manageToken"]["scheme"] == "bearer"


def test_request_body_is_the_schema_the_view_validates_with(spec: dict[str, Any]) -> None:
    post = spec["paths"]["/api/links"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    expected = CreateLinkRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schema["properties"] == expected["properties"]
    assert schema["required"] == ["url"]
    assert schema["additionalProperties"] is False
    assert {"409", "413", "415", "422"} <= set(post["responses"])


def test_errors_share_one_schema(spec: dict[str, Any]) -> None:
    error_refs = {
        response["content"]["application/json"]["schema"]["$ref"]
        for path, item in spec["paths"].items()
        if path.startswith("/api/")
        for operation in item.values()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }
    assert error_refs == {"#/components/schemas/ErrorResponse"}
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert {"code", "message"} <= set(error["required"])


def test_timestamps_are_documented_as_date_times(spec: dict[str, Any]) -> None:
    created = spec["components"]["schemas"]["LinkCreated"]["properties"]
    assert created["created_at"]["format"] == "date-time"
    assert {"type": "null"} in created["expires_at"]["anyOf"]


def test_operation_ids_are_unique(app: Flask) -> None:
    spec = build_openapi(app, title="t", version="1", server_url="http://x")
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
