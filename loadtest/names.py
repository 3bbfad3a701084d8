"""Request names, one per request type: Locust's stats, the gates, reports and charts key on them.

Free of Locust imports (importing Locust monkey-patches the process with gevent), so that the
gates and the server-side figures can use them anywhere.
"""

from __future__ import annotations

REDIRECT = "GET /{code}"
CREATE = "POST /api/links"
CREATE_INVALID = "POST /api/links (invalid)"
LINK = "GET /api/links/{code}"
STATS = "GET /api/links/{code}/stats"
STATS_PAGE = "GET /s/{code}"

# Request type -> request name. The type is what gates.toml, the gate lines and the suffixes of
# LOADTEST_*_<TYPE> overrides say.
REQUEST_TYPES = {
    "redirect": REDIRECT,
    "create": CREATE,
    "create_invalid": CREATE_INVALID,
    "link": LINK,
    "stats": STATS,
    "stats_page": STATS_PAGE,
}

# The failure message of a 429, counted apart from the application's own failures.
RATE_LIMITED = "rate limited (429)"
