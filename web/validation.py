"""Turning a request body into a validated schema object, or into the right API error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from web.errors import ApiError

ModelT = TypeVar("ModelT", bound=BaseModel)


def validation_error(exc: ValidationError) -> ApiError:
    """A 422 naming the first offending field, in words a client developer can act on."""
    problem = exc.errors()[0]
    field = ".".join(str(part) for part in problem["loc"]) or "body"
    message = problem["msg"].removeprefix("Value error, ")
    return ApiError(422, f"{field}: {message}", field=field)


def validate(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def json_body(model: type[ModelT]) -> ModelT:
    """Parse the request body as `model`: 415 if not JSON, 400 if malformed, 422 if invalid."""
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        raise ApiError(400, "request body is not valid JSON", code="malformed_json") from None
    if not isinstance(data, Mapping):
        raise ApiError(422, "body: must be a JSON object", field="body")
    return validate(model, data)
