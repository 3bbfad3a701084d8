"""Server-rendered pages that work without JavaScript: the shorten form and a stats page."""

from __future__ import annotations

import re

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import NotFound

from web import codes, use_cases
from web.chart import daily_chart_svg
from web.errors import ApiError
from web.extensions import services
from web.schemas import CreateLinkRequest
from web.use_cases import create_link
from web.validation import validate

bp = Blueprint("pages", __name__)

# (seconds or '' for never, label) for the form's expiry choice.
EXPIRY_CHOICES = (
    ("", "Never"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("31536000", "1 year"),
)
DIRECT_LABEL = "(direct)"
_DIGITS = re.compile(r"[0-9]{1,12}")


def _form_page(status: int = 200, **context: object) -> Response:
    body = render_template(
        "index.html", expiry_choices=EXPIRY_CHOICES, form=request.form, **context
    )
    return Response(body, status=status, mimetype="text/html")


@bp.get("/")
def index() -> Response:
    return _form_page()


@bp.post("/")
def shorten() -> Response:
    """The form's POST; the same schema and use case as POST /api/links."""
    expires_in = request.form.get("expires_in", "").strip()
    fields: dict[str, object] = {
        "url": request.form.get("url", "").strip(),
        "alias": request.form.get("alias", "").strip() or None,
        # Anything but plain ASCII digits goes to validation as text, to fail there with a 422.
        "expires_in": int(expires_in) if _DIGITS.fullmatch(expires_in) else (expires_in or None),
    }
    try:
        created = create_link(validate(CreateLinkRequest, fields))
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        return _form_page(status=error.status, error=error.message)
    response = _form_page(status=201, created=created)
    # The page shows the manage token: no cache, shared or the browser's, may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/s/<code>")
def stats_page(code: str) -> Response:
    stats = (
        services().store.stats(code, use_cases.now_ms()) if codes.looks_like_code(code) else None
    )
    if stats is None:
        raise NotFound()
    body = render_template(
        "stats.html",
        code=code,
        short_url=services().settings.short_url(code),
        stats=stats,
        referrers=[(host or DIRECT_LABEL, clicks) for host, clicks in stats.referrers],
        chart=daily_chart_svg(stats.daily),
    )
    return Response(body, mimetype="text/html")
