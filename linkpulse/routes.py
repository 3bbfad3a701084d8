"""The URL rule of redirects, which web registers and everything that measures them names.

web labels its request metrics with the rule a request matched, so the SLO spec's objectives,
the load-test gates, the deploy tool's SLO check, the release dashboard and the stack
benchmark select redirects by this text. This module imports nothing: the Locust image copies
it alone.
"""

from __future__ import annotations

REDIRECT_ROUTE = "/<code>"
