"""Client addresses behind nginx, trusted only when the request really came from the proxy.

gunicorn's forwarded_allow_ips only governs the scheme headers; it never rewrites
REMOTE_ADDR. werkzeug's ProxyFix does rewrite it, but believes X-Forwarded-For from anyone.
So ProxyFix (with the hop count of our proxies) runs only when the peer is in
FORWARDED_ALLOW_IPS, the same list gunicorn uses: a client that reaches gunicorn directly
keeps its own socket address whatever headers it sends, and behind nginx the address is
the one nginx appended, which a client cannot forge.

The same trust decides whose X-Edge-Request-Id counts: nginx's id for one client request,
kept across its upstream retries, which makes a retried redirect record its click once,
and whose X-Edge-Quota-Exempt counts: nginx's word that the client is in RATE_LIMIT_EXEMPT
(web/quotas.py).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

from web.config import IpNetwork

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


EDGE_REQUEST_ID_HEADER = "X-Edge-Request-Id"
EDGE_REQUEST_ID_ENVIRON = "HTTP_X_EDGE_REQUEST_ID"
_EDGE_QUOTA_EXEMPT_ENVIRON = "HTTP_X_EDGE_QUOTA_EXEMPT"


class TrustedProxyFix:
    def __init__(
        self, app: WSGIApplication, trusted: tuple[IpNetwork, ...] | None, hops: int
    ) -> None:
        """`trusted` None means every peer is a proxy ('*'), for networks only nginx can reach."""
        self.app = app
        self.trusted = trusted
        self.proxied = ProxyFix(app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)
        # Behind nginx every request comes from one peer or a few: parsing its address for
        # each request was 3-5 % of a web worker's CPU under redirect load (issue 20's profile).
        # Bounded, since a client reaching gunicorn directly brings addresses of its own.
        self._peer_is_trusted = functools.lru_cache(maxsize=1024)(self.is_trusted)

    def is_trusted(self, peer: str | None) -> bool:
        if self.trusted is None:
            return True
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._peer_is_trusted(environ.get("REMOTE_ADDR")):
            return self.proxied(environ, start_response)
        # Only the proxy may name a redirect attempt (a client could replay one to hide
        # clicks) or exempt a client from the creation quota.
        environ.pop(EDGE_REQUEST_ID_ENVIRON, None)
        environ.pop(_EDGE_QUOTA_EXEMPT_ENVIRON, None)
        return self.app(environ, start_response)
