"""Request and response bodies of the JSON API, declared once.

The same classes validate incoming JSON, shape outgoing JSON and, through pydantic's JSON
schema, make up /api/openapi.json, so the documentation cannot drift from the behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from web import codes, url_policy

MAX_EXPIRES_IN = 10 * 366 * 24 * 3600  # ten years, leap days included


def _format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(_format_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-25T12:00:00Z"]}),
]


def _check_url(value: str) -> str:
    return url_policy.normalise_url(value)


def _check_alias(value: str) -> str:
    problem = codes.alias_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class CreateLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(
            max_length=url_policy.MAX_URL_LENGTH,
            description="Destination; http or https, no credentials, IDN hosts allowed.",
            examples=["https://example.org/some/long/path"],
        ),
        AfterValidator(_check_url),
    ]
    alias: Annotated[
        str | None,
        Field(
            default=None,
            pattern=codes.ALIAS_PATTERN,
            description="Custom code instead of a random one; reserved words are refused.",
        ),
        AfterValidator(lambda value: None if value is None else _check_alias(value)),
    ] = None
    expires_in: Annotated[
        int | None,
        Field(
            default=None,
            strict=True,
            gt=0,
            le=MAX_EXPIRES_IN,
            description="Lifetime in whole seconds; omit or null for a link that never expires.",
        ),
    ] = None


class LinkCreated(BaseModel):
    code: str
    short_url: str
    url: str
    created_at: UtcTimestamp
    expires_at: UtcTimestamp | None
    manage_token: str = Field(
        description="Shown only in this response; send it as 'Authorization: Bearer' to delete."
    )


class LinkInfo(BaseModel):
    code: str
    short_url: str
    url: str
    created_at: UtcTimestamp
    expires_at: UtcTimestamp | None
    clicks: int


class DailyClicks(BaseModel):
    date: str = Field(description="UTC day, YYYY-MM-DD", examples=["2026-11-25"])
    clicks: int


class ReferrerClicks(BaseModel):
    referrer: str = Field(
        description="Referring host, lowercased; the empty string means direct traffic "
        "(no or unparseable Referer)."
    )
    clicks: int


class LinkStats(BaseModel):
    code: str
    clicks: int
    unique_visitors: int = Field(description="HyperLogLog estimate (about 0.81% error).")
    daily: list[DailyClicks] = Field(description="Last 30 UTC days, oldest first, zeros included.")
    referrers: list[ReferrerClicks] = Field(description="Top referrer hosts, most clicks first.")


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case error code", examples=["not_found"])
    message: str
    field: str | None = Field(
        default=None, description="For validation errors: the offending request field."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthStatus(BaseModel):
    status: str
