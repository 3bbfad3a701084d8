"""Who a create counts against, and whether the edge exempts it from quotas.

A client is its address, or its /64 for IPv6 (one subscriber usually holds a whole /64, so a
per-address quota would be no quota there). The key stores a keyed hash of it, never the
address itself, for the same reason the visitor counts do.

The exemption is nginx's to give: it sends EDGE_QUOTA_EXEMPT_HEADER ("1" for a client in
RATE_LIMIT_EXEMPT, else "0") on every request, replacing whatever a client sent, and web
believes it only from a trusted proxy (web/proxy.py drops it from anyone else).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from web.store import CreateQuota

EDGE_QUOTA_EXEMPT_HEADER = "X-Edge-Quota-Exempt"
IPV6_CLIENT_PREFIX = 64


def client_identity(address: str) -> str:
    """The address a quota is kept for: the address itself, or its IPv6 /64 network."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


def create_quota(address: str, per_hour: int, exempt: bool, salt: str) -> CreateQuota | None:
    """The quota a create from `address` counts against; None when there is none."""
    if per_hour <= 0 or exempt:
        return None
    digest = hmac.new(
        salt.encode("utf-8"), client_identity(address).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return CreateQuota(client=digest[:32], per_window=per_hour)
