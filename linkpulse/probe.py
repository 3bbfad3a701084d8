"""The header that marks the deploy tool's probe requests, which web and the deploy tool share.

While it judges a release on a quiet service, the deploy tool sends its own requests (on links
it creates and deletes again) and names its deploy in this header. web measures those requests
in metric families of their own, so the SLO check can judge probe evidence apart from users',
and every dashboard, alert and objective built on the users' families stays about users.

Only the value's shape is checked: a client that sends the header moves its own requests from
the users' families into the probes' (it is then measured, not hidden), and the label carries
no value of the header, so the header cannot add series. This module imports nothing: the
deploy tool imports it without web.
"""

from __future__ import annotations

import re

PROBE_HEADER = "X-Linkpulse-Probe"
PROBE_ENVIRON = "HTTP_X_LINKPULSE_PROBE"  # the same header, as WSGI names it
_TOKEN = re.compile(r"[0-9a-f]{16}")


def is_probe(value: str | None) -> bool:
    """A probe request carries a per-deploy token: 16 lowercase hex digits."""
    return value is not None and _TOKEN.fullmatch(value) is not None
