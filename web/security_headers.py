"""The security headers of every response web makes, in one place (nginx passes them on).

The Content-Security-Policy is the strictest the pages work under: they are server-rendered
with no script at all, one stylesheet from /static, a form that posts to the same origin, and
the daily chart as inline SVG markup, which is part of the document and needs no img-src.
Everything else (scripts, inline styles, images, fonts, fetches, frames) is refused.
tests/e2e checks in Chromium that the pages still render under it.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
