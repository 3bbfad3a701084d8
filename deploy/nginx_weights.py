"""nginx's web servers with a canary's share of requests, as upstream weights.

nginx's weighted round-robin is smooth and deterministic: with weights 9 and 1 every tenth
request goes to the canary, whoever sends it, so the rehearsal's load loop (one client address)
sees the configured share too. The split is per request, not per client: a redirect is one
request with no session behind it, so one visitor meeting both versions is harmless, and a
client-keyed split (ip_hash) would send a single busy client all one way. Each nginx worker keeps
its own round-robin state; across workers the share still holds within a few requests.
"""

from __future__ import annotations

from math import gcd

from deploy.errors import DeployError
from deploy.plan import render_upstream


def weights(percent: int, old: int, new: int) -> tuple[int, int]:
    """Per-server weights for OLD and NEW servers so that the NEW ones get PERCENT % in all."""
    if not 0 < percent < 100 or old < 1 or new < 1:
        raise DeployError(f"no weighted split for {percent} % over {old} old and {new} new")
    old_weight, new_weight = (100 - percent) * new, percent * old
    common = gcd(old_weight, new_weight)
    return old_weight // common, new_weight // common


def render_split(old: list[str], new: list[str], percent: int) -> str:
    """The upstream servers with NEW getting PERCENT % of requests (100: NEW alone)."""
    if percent >= 100 or not old:
        return render_upstream(new)
    old_weight, new_weight = weights(percent, len(old), len(new))
    weighted = dict.fromkeys(old, old_weight) | dict.fromkeys(new, new_weight)
    return render_upstream(list(weighted), weighted)
